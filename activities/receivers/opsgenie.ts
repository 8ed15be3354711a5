/**
 * The Opsgenie receiver: an escalation step's page as an Alert API create request for the target's team (the
 * responder), `alias` = the alert's fingerprint so Opsgenie keeps one alert per series; acknowledged and resolved
 * here, it is acknowledged and closed there by alias. Authenticated with `Authorization: GenieKey <OPSGENIE_API_KEY>`.
 */
import type { Delivery } from '../../core/escalation';
import { opsgenieAlert } from '../../core/paging';
import { notConfigured } from './errors';
import { postJson } from './http';
import type { GroupNotificationRequest, NotificationRequest, PagingReceiver, ReceiverContext } from './receiver';

export function createOpsgenieReceiver(ctx: ReceiverContext): PagingReceiver {
  const { config } = ctx;
  const { opsgenieApiUrl: base, opsgenieApiKey: apiKey } = config.paging;
  const post = async (path: string, body: unknown): Promise<number> => {
    if (!apiKey) throw notConfigured('Opsgenie (OPSGENIE_API_KEY)');
    return (await postJson('Opsgenie', `${base}${path}`, JSON.stringify(body), { authorization: `GenieKey ${apiKey}` }, config.alert.notificationTimeoutMs)).status;
  };
  const create = (req: Pick<NotificationRequest, 'alert' | 'alertId' | 'workflowId' | 'value' | 'firedAtMs' | 'policy' | 'step'>, team: string) =>
    post('/v2/alerts', opsgenieAlert(req.alert.fingerprint, ctx.notificationOf(req), team));

  return {
    configured: apiKey !== undefined,
    async sendAlert(req: NotificationRequest): Promise<Delivery> {
      return { key: req.key, channel: 'opsgenie', to: req.target.to, status: await create(req, req.target.to) };
    },
    async sendGroup(req: GroupNotificationRequest): Promise<Delivery> {
      let status = 202;
      for (const item of req.items) if (item.state.status === 'firing') status = await create(item, req.target.to);
      return { key: req.key, channel: 'opsgenie', to: req.target.to, status, group: req.group.workflowId };
    },
    async sync(_to, fingerprint, status, by) {
      if (status === 'firing') return;
      const action = status === 'acknowledged' ? 'acknowledge' : 'close';
      await post(`/v2/alerts/${encodeURIComponent(fingerprint)}/${action}?identifierType=alias`, { user: by ?? 'performance-monitoring', source: 'performance-monitoring', note: `${status} in performance-monitoring` });
    },
  };
}

/**
 * The PagerDuty receiver: an escalation step's page as an Events API v2 `trigger` for the routing key the target
 * names (PAGERDUTY_ROUTING_KEYS), `dedup_key` = the alert's fingerprint — so a retry, a second step or a re-fire
 * while the incident is open add to one incident —, and `acknowledge` / `resolve` when the alert is acknowledged or
 * resolved here. PagerDuty's own acknowledgements come back through its V3 webhook (api/routes/integrations.ts).
 */
import type { Delivery } from '../../core/escalation';
import { pagerDutyAction, pagerDutyTrigger, type PagerDutyEvent } from '../../core/paging';
import { notConfigured } from './errors';
import { postJson } from './http';
import type { GroupNotificationRequest, NotificationRequest, PagingReceiver, ReceiverContext } from './receiver';

export function createPagerDutyReceiver(ctx: ReceiverContext): PagingReceiver {
  const { config } = ctx;
  const keys = config.paging.pagerDutyRoutingKeys;
  const routingKey = (name: string): string => {
    const key = keys[name];
    if (!key) throw notConfigured(`PagerDuty routing key "${name}" (PAGERDUTY_ROUTING_KEYS)`);
    return key;
  };
  const send = async (event: PagerDutyEvent): Promise<number> => (await postJson('PagerDuty', config.paging.pagerDutyEventsUrl, JSON.stringify(event), {}, config.alert.notificationTimeoutMs)).status;

  return {
    configured: Object.keys(keys).length > 0,
    async sendAlert(req: NotificationRequest): Promise<Delivery> {
      const notification = ctx.notificationOf(req);
      const status = await send(pagerDutyTrigger(routingKey(req.target.to), req.alert.fingerprint, notification, ctx.linksFor(req.alertId, `pagerduty:${req.target.to}`)));
      return { key: req.key, channel: 'pagerduty', to: req.target.to, status };
    },
    async sendGroup(req: GroupNotificationRequest): Promise<Delivery> {
      // A page is per alert series in PagerDuty (one incident each): a batch triggers each of its alerts.
      let status = 202;
      for (const item of req.items) {
        if (item.state.status !== 'firing') continue;
        const notification = ctx.notificationOf({ ...item, step: item.step });
        status = await send(pagerDutyTrigger(routingKey(req.target.to), item.alert.fingerprint, notification, ctx.linksFor(item.alertId, `pagerduty:${req.target.to}`)));
      }
      return { key: req.key, channel: 'pagerduty', to: req.target.to, status, group: req.group.workflowId };
    },
    async sync(to, fingerprint, status) {
      if (status === 'firing') return;
      await send(pagerDutyAction(routingKey(to), fingerprint, status === 'acknowledged' ? 'acknowledge' : 'resolve'));
    },
  };
}

/**
 * The notification receivers, as Alertmanager has one per integration: each sends an alert's escalation step, or a
 * notification group's batch, to one destination of its channel. activities/notify.ts owns what they share — the
 * exactly-once ledger, the per-channel counts, how an alert is described — and picks the receiver by the target's
 * channel, so a new channel is one file in this folder plus its line in receivers/index.ts.
 */
import type { AlertInput } from '../../core/alert';
import type { Config } from '../../core/config';
import type { Delivery, EscalationTarget, PlannedNotification } from '../../core/escalation';
import type { AlertGroup } from '../../core/grouping';
import type { AlertNotification, GroupCounts, GroupedAlert, NotificationState } from '../../core/notification';

/** NotificationRequest is one delivery the alert workflow asks for: (alert, step, target), identified by `key`. */
export interface NotificationRequest {
  key: string;
  target: EscalationTarget;
  step: Pick<PlannedNotification, 'index' | 'level' | 'round'>;
  alert: AlertInput;
  alertId: string;
  workflowId: string;
  value: number;
  firedAtMs: number;
  policy: string;
  /**
   * The alert's workflow announces the step's escalation on the alert stream itself (runs started before it did
   * leave that to the delivery).
   */
  announced?: boolean;
}

/** GroupNotificationRequest is one batch of a notification group to one target: its alerts as they stand. */
export interface GroupNotificationRequest {
  key: string;
  target: EscalationTarget;
  group: AlertGroup;
  /** The batch's first GROUP_ITEMS_SENT alerts as they stand; `counts` covers all of them. */
  items: Array<Omit<NotificationRequest, 'key' | 'target'> & { state: NotificationState }>;
  counts: GroupCounts;
}

/** AlertDescription is what describes an alert to a notification: the request's parts a message draws from. */
export type AlertDescription = Pick<NotificationRequest, 'alert' | 'alertId' | 'workflowId' | 'value' | 'firedAtMs' | 'policy'> & { step: Pick<PlannedNotification, 'level' | 'round'> };

/** ReceiverContext is what every receiver may use: the configuration and how an alert is described and linked. */
export interface ReceiverContext {
  config: Config;
  /** notificationOf is the seed's alert notification of a request. */
  notificationOf: (req: AlertDescription) => AlertNotification;
  /** groupedOf is a batch's alerts as messages draw them. */
  groupedOf: (req: Pick<GroupNotificationRequest, 'items'>) => GroupedAlert[];
  /** linksFor signs an alert's Acknowledge / Resolve links for one recipient. */
  linksFor: (alertId: string, recipient: string) => { acknowledge: string; resolve: string };
  /** workflowUrl is a workflow's page in the Temporal Web UI. */
  workflowUrl: (workflowId: string) => string;
  /** firstAttempt says whether this is the first attempt at a key (false: an earlier one may have sent it unrecorded). */
  firstAttempt: (key: string) => Promise<boolean>;
}

/**
 * Receiver sends notifications of one channel. Each send goes to `req.target.to` and returns what it left behind
 * (the Delivery the ledger records). A send is retried by Temporal when it throws a plain error; a receiver that
 * can tell an earlier attempt's send (Slack reads its channel back) returns that instead of sending again.
 */
export interface Receiver {
  /** configured says whether this deployment can send on the channel (a token, an SMTP URL, a secret). */
  readonly configured: boolean;
  sendAlert(req: NotificationRequest): Promise<Delivery>;
  sendGroup(req: GroupNotificationRequest): Promise<Delivery>;
}

/**
 * PagingReceiver is a receiver whose service keeps its own incident per alert series (PagerDuty, Opsgenie): it is
 * told when the alert is acknowledged or resolved here, so the incident there follows.
 */
export interface PagingReceiver extends Receiver {
  sync(to: string, fingerprint: string, status: NotificationState['status'], by?: string): Promise<void>;
}

import type { Client } from '@temporalio/client';
import type { AlertGroupInput, GroupRequest } from '../core/grouping';
import { TASK_PRIORITY } from '../core/types';
import { alertGroupWorkflow } from '../workflows/alert-group';
import { enqueueSignal } from '../workflows/messages';

/** createGroupingActivities builds the activity through which an alert workflow reaches its notification group. */
export function createGroupingActivities({ temporal, taskQueue }: { temporal: Client; taskQueue: string }) {
  return {
    /**
     * joinAlertGroup hands an escalation step to the alert's notification group, starting the group's workflow if
     * it is not running (signalWithStart: two alerts joining at once reach one group).
     */
    async joinAlertGroup(input: AlertGroupInput, request: GroupRequest): Promise<void> {
      await temporal.workflow.signalWithStart(alertGroupWorkflow, {
        workflowId: input.group.workflowId,
        taskQueue,
        args: [input],
        signal: enqueueSignal,
        signalArgs: [request],
        // The group's deliveries go at its alerts' priority (a group holds one rule's alerts unless group_by says otherwise).
        priority: { priorityKey: TASK_PRIORITY[request.alert.rule.severity] },
      });
    },
  };
}

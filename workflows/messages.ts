/**
 * The messages of the alert workflows, defined once: the alert lifecycle's and its notification group's signals,
 * updates and queries, each registered under its variable's name less the suffix. The two workflows signal each
 * other and every client (the API, the activities) sends them, so they live in one module that all of them import —
 * which keeps the two workflow modules from importing each other.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AlertAction, AlertView, MuteNotice, Observation } from '../core/alert';
import type { GroupDelivered, GroupMemberUpdate, GroupRequest } from '../core/grouping';
import type { GroupView } from './alert-group';

/** observeSignal carries each evaluation's verdict on an alert's series to its alertLifecycleWorkflow. */
export const observeSignal = defineSignal<[Observation]>('observe');
/** acknowledgeUpdate records who took the alert; refused unless the alert is firing. */
export const acknowledgeUpdate = defineUpdate<AlertView, [AlertAction]>('acknowledge');
/** resolveUpdate ends the alert by hand with a note; refused once it has ended. */
export const resolveUpdate = defineUpdate<AlertView, [AlertAction]>('resolve');
/** stateQuery reads the alert as an on-call engineer sees it. */
export const stateQuery = defineQuery<AlertView>('state');
/** muteSignal tells an alert that a silence now mutes it, or no longer does (for its `silenced`/`unsilenced` events). */
export const muteSignal = defineSignal<[MuteNotice]>('mute');
/** groupDeliveredSignal carries the notification group's answer to a step an alert handed to it. */
export const groupDeliveredSignal = defineSignal<[GroupDelivered]>('groupDelivered');

/** enqueueSignal carries an alert's escalation step to its alertGroupWorkflow, to deliver to the step's targets. */
export const enqueueSignal = defineSignal<[GroupRequest]>('enqueue');
/** memberSignal tells the group an alert's new state (acknowledged, resolved, firing again). */
export const memberSignal = defineSignal<[GroupMemberUpdate]>('member');
/** groupStateQuery reads the group: its members and batches. */
export const groupStateQuery = defineQuery<GroupView>('state');

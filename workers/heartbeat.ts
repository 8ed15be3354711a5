import type { Context } from '@temporalio/activity';
import type { ActivityInterceptors } from '@temporalio/worker';

/**
 * heartbeatInterceptor heartbeats every running activity that was given a heartbeatTimeout, at a third of it, for
 * as long as it runs. A long job (a report's 30 days of history, a capacity plan) keeps a startToClose of minutes,
 * but when its worker is killed Temporal notices within the heartbeat timeout and retries it on another worker,
 * instead of waiting out the minutes. The heartbeat says the process lives, not that the work progresses.
 */
export function heartbeatInterceptor(ctx: Context): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        const timeoutMs = ctx.info.heartbeatTimeoutMs;
        if (!timeoutMs) return next(input);
        const timer = setInterval(() => ctx.heartbeat(), Math.max(1_000, timeoutMs / 3));
        try {
          return await next(input);
        } finally {
          clearInterval(timer);
        }
      },
    },
  };
}

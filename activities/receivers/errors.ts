import { ApplicationFailure } from '@temporalio/activity';

/** notConfigured fails a delivery for good: retrying cannot make a missing token, SMTP URL or secret appear. */
export function notConfigured(what: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`${what} is not configured`, 'NotConfigured');
}

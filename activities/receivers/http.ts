/**
 * postJson is how every HTTP receiver (webhook, PagerDuty, Opsgenie, SMS) sends: one POST, answered within the
 * notification timeout. A 2xx is delivered (its status and JSON body returned); a 408, 429 or 5xx, a timeout or a
 * refused connection throws a plain error, which Temporal retries; any other 4xx fails the delivery for good — the
 * service refuses what we send, and sending it again would not change that.
 */
import { ApplicationFailure } from '@temporalio/activity';

export async function postJson(what: string, url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; json: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'performance-monitoring', ...headers },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new Error(`${what} ${url}: ${(err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message}`);
  }
  const text = await response.text().catch(() => '');
  if (response.ok) {
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, json };
  }
  const message = `${what} ${url} answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
  if (response.status === 408 || response.status === 429 || response.status >= 500) throw new Error(message);
  throw ApplicationFailure.nonRetryable(message, 'ReceiverRefused');
}

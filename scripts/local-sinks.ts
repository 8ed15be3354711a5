/**
 * The local notification sinks of `npm start` when no Slack or SMTP is configured: a Slack-compatible endpoint
 * (SLACK_API_URL) and an SMTP server, printing every message, edit and e-mail (with its Acknowledge / Resolve links,
 * which work in a browser) to .local/logs/sinks.log. Ports: LOCAL_SLACK_PORT (8234), LOCAL_SMTP_PORT (2525).
 */
import { FakeSlack } from './local-slack';
import { TestSmtp } from './local-smtp';

function textOf(blocks: unknown[]): string {
  const header = blocks.find((b) => (b as { type?: string }).type === 'header') as { text?: { text?: string } } | undefined;
  const state = [...blocks].reverse().find((b) => (b as { type?: string }).type === 'section') as { text?: { text?: string } } | undefined;
  return `${header?.text?.text ?? ''} | ${state?.text?.text ?? ''}`;
}

async function main(): Promise<void> {
  const slack = new FakeSlack(process.env.LOCAL_SLACK_TOKEN ?? 'xoxb-local');
  const smtp = new TestSmtp();
  slack.onMessage = (m, edited) => console.log(`[slack ${edited ? 'edited' : 'posted'} ${m.channel} ts=${m.ts}] ${m.blocks.length ? textOf(m.blocks) : m.text}`);
  smtp.onMessage = (mail) => {
    const links = [...(mail.text ?? '').matchAll(/^(Acknowledge|Resolve): (\S+)$/gm)].map((l) => `\n    ${l[1]}: ${l[2]}`).join('');
    console.log(`[mail to ${(mail.to as { text?: string } | undefined)?.text ?? '?'}] ${mail.subject}${links}`);
  };
  await slack.start(Number(process.env.LOCAL_SLACK_PORT ?? 8234));
  await smtp.start(Number(process.env.LOCAL_SMTP_PORT ?? 2525));
  console.log(`[sinks] Slack-compatible API on ${slack.url}, SMTP on ${smtp.url}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void Promise.all([slack.stop(), smtp.stop()]).then(() => process.exit(0));
    });
  }
}

main().catch((err) => {
  console.error('[sinks] fatal:', err);
  process.exit(1);
});

import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** TestSmtp is a local SMTP server for tests and `npm start`: a real SMTP server (the smtp-server package) on a free port, keeping every message parsed by mailparser. */
export class TestSmtp {
  readonly messages: ParsedMail[] = [];
  /** onMessage is called with each message received (the local sinks of `npm start` print them). */
  onMessage: ((mail: ParsedMail) => void) | undefined;
  private server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData: (stream, _session, callback) => {
      simpleParser(stream)
        .then((mail) => {
          this.messages.push(mail);
          this.onMessage?.(mail);
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  url = '';

  async start(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', resolve);
    });
    // A client that dies mid-session (a killed worker) resets its connection: not the server's failure.
    this.server.on('error', () => undefined);
    this.url = `smtp://127.0.0.1:${(this.server.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

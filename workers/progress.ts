/**
 * progressWriter draws a command's progress: on a terminal one line redrawn in place (`\r`), elsewhere — a file, a
 * pipe, CI's log — each state on a line of its own, so no log fills with carriage returns.
 */
export function progressWriter(write: (text: string) => void, tty: boolean): (line: string, last: boolean) => void {
  return (line, last) => write(tty ? `\r${line}   ${last ? '\n' : ''}` : `${line}\n`);
}

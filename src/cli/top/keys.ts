// Terminal input bytes -> key names. Raw mode delivers one chunk per
// keystroke (or a paste); escape sequences of arrows and pages arrive whole.
export type Key =
  | { name: 'up' | 'down' | 'pageup' | 'pagedown' | 'home' | 'end' | 'enter' | 'escape' | 'backspace' | 'ctrl-c' | 'ctrl-u' }
  | { name: 'char'; ch: string };

const SEQUENCES: [string, Key['name']][] = [
  ['\x1b[A', 'up'], ['\x1bOA', 'up'], ['\x1b[B', 'down'], ['\x1bOB', 'down'],
  ['\x1b[5~', 'pageup'], ['\x1b[6~', 'pagedown'], ['\x1b[H', 'home'], ['\x1b[F', 'end'],
  ['\x1b[1~', 'home'], ['\x1b[4~', 'end'],
];

export function parseKeys(chunk: string): Key[] {
  const keys: Key[] = [];
  let i = 0;
  while (i < chunk.length) {
    const seq = SEQUENCES.find(([s]) => chunk.startsWith(s, i));
    if (seq) {
      keys.push({ name: seq[1] } as Key);
      i += seq[0].length;
      continue;
    }
    const c = chunk[i++];
    if (c === '\x1b') {
      // an unknown sequence: skip it whole rather than read its bytes as keys
      const m = /^\x1b\[[0-9;]*[A-Za-z~]/.exec(chunk.slice(i - 1));
      if (m) i += m[0].length - 1;
      else keys.push({ name: 'escape' });
    } else if (c === '\r' || c === '\n') keys.push({ name: 'enter' });
    else if (c === '\x7f' || c === '\b') keys.push({ name: 'backspace' });
    else if (c === '\x03') keys.push({ name: 'ctrl-c' });
    else if (c === '\x15') keys.push({ name: 'ctrl-u' });
    else if (c >= ' ') keys.push({ name: 'char', ch: c });
  }
  return keys;
}

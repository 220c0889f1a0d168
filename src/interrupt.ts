// Ctrl-C: by default every command stops at once (cli.ts, exit 130). A command that runs until it is stopped
// (`watch`) takes the next Ctrl-C for itself, to end cleanly; a second one stops at once as usual.
let handler: (() => void) | undefined;

export function onInterrupt(fn: () => void): void {
  handler = fn;
}

/** The command's handler, once; undefined when the default applies. */
export function takeInterrupt(): (() => void) | undefined {
  const h = handler;
  handler = undefined;
  return h;
}

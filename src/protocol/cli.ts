/**
 * What the command line's front (src/cli) and the engine's commands (src/engine/cli.ts) agree on: a
 * command-line mistake is thrown as a `UsageError`, printed with the usage text, exit status 2.
 */
export class UsageError extends Error {}

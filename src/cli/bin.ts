/** Entry of the `densenet-lab` executable. */
import { main } from './main';

// `densenet-lab analyze ... | head` closes the pipe early: stop quietly, as other command-line tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

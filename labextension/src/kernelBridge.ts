/**
 * Calls into a notebook's kernel: one op of `jupyter_xtrack.kernel.launch` evaluated as a
 * user expression of a silent execute request, so nothing shows in the notebook, the
 * execution count does not move and the kernel's history is left alone.
 */
import { Kernel } from '@jupyterlab/services';
import { kernelExpression, readUserExpression, Reply } from './jobsModel';

/**
 * Run `op` of the bridge with `args` in `kernel` and return its Reply. Never throws: a
 * kernel without jupyter_xtrack, one that dies or restarts mid-request, or a Python error
 * come back as `{ok: false, error}` with a message to show.
 */
export async function callKernel<T>(
  kernel: Kernel.IKernelConnection,
  op: string,
  args: object = {}
): Promise<Reply<T>> {
  let reply;
  try {
    const future = kernel.requestExecute(
      {
        code: '',
        silent: true,
        store_history: false,
        user_expressions: { xtrack: kernelExpression(op, args) },
        allow_stdin: false,
        stop_on_error: false
      },
      true
    );
    reply = await future.done;
  } catch (e) {
    // The future is rejected when the kernel restarts, dies or is shut down meanwhile.
    return {
      ok: false,
      error: `the notebook's kernel did not answer (${(e as Error)?.message || String(e)}); is it still running?`
    };
  }
  const content = reply.content as any;
  if (content.status !== 'ok') {
    return {
      ok: false,
      error: `the kernel refused the request (${content.ename ?? content.status}: ${content.evalue ?? ''})`
    };
  }
  return readUserExpression<T>(content.user_expressions?.xtrack);
}

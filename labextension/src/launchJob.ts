/**
 * Launching a job from a Launch form: the kernel checks the request (`check_*`), then starts
 * it (`start_*`); errors go back to the form's fields.
 */
import { Kernel } from '@jupyterlab/services';
import { fieldErrors, formError, IExpectedJob, IStarted, Reply } from './jobsModel';
import { callKernel } from './kernelBridge';

/** What the Launch tab can start. */
export type LaunchMode = 'automl' | 'sweep';

/** Errors of the reply that have no field on the form, shown for the whole form. */
function unplacedErrors(errors: Record<string, string>, fields: string[]): string | null {
  const rest = Object.entries(errors).filter(([k]) => !fields.includes(k));
  return rest.length ? rest.map(([k, v]) => `${k}: ${v}`).join('\n') : null;
}

/** What a form shows while and after it launches. */
export interface ILaunchUI {
  setBusy: (text: string | null) => void;
  setErrors: (errors: Record<string, string>) => void;
  setWhole: (text: string | null) => void;
  onStarted: (expected: IExpectedJob) => void;
}

/** check_*, then start_*: on success the app hears of the job; otherwise each error goes to
 * its field (`fields`), and the rest to the whole form. */
export async function launchJob(
  kernel: Kernel.IKernelConnection,
  kind: LaunchMode,
  args: Record<string, unknown>,
  fields: string[],
  ui: ILaunchUI
): Promise<void> {
  const since = Date.now() / 1000;
  ui.setBusy('Checking…');
  let reply: Reply<unknown> = await callKernel<unknown>(kernel, `check_${kind}`, args);
  if (reply.ok) {
    ui.setBusy('Starting…');
    const started = await callKernel<IStarted>(kernel, `start_${kind}`, args);
    if (started.ok) {
      ui.setBusy(null);
      ui.onStarted({ runId: started.value.run_id, since });
      return;
    }
    reply = started;
  }
  ui.setBusy(null);
  const errors = fieldErrors(reply);
  ui.setErrors(errors);
  ui.setWhole(formError(reply) ?? unplacedErrors(errors, fields));
}

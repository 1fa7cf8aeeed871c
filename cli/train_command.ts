/**
 * `train` (the default command): resolve the config, load data and weights, pick the backend, run
 * the loop, report the best model. `train --demo` runs the demo (cli/demo_command.ts).
 *
 * @module
 */
import { defineCommand } from "./command.ts";
import { runDemo } from "./demo_command.ts";
import { resolveTrainRun, TRAIN_OPTIONS } from "./train_options.ts";
import { trainWith } from "./_train_run.ts";

/** `mrpc-tune train`: fine-tune DistilBERT on MRPC. */
export const TRAIN_COMMAND = defineCommand({
  name: "train",
  summary: "Fine-tune DistilBERT on MRPC (the default command)",
  options: TRAIN_OPTIONS,
  async run(values, context) {
    if (values.demo) return await runDemo(values, context);
    const { config, explicit } = await resolveTrainRun(values, context.given, context.env);
    await trainWith(config, context.env, { explicit });
    return 0;
  },
});

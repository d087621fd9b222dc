import { deployedTopology, formatPlan, planDeploy } from "@tributary/streams";
import type { Command } from "commander";
import { type LogFlags, addLogOptions, withLog } from "../log-flags.js";
import { readDeployedTopology } from "../deployed-topologies.js";
import { loadApp } from "../load-app.js";

/**
 * `tributary plan app.ts`: compares the topology the file compiles to with the one the app
 * last deployed (recorded in the log by `tributary run`) and classifies every change as
 * compatible, needing a state migration, or incompatible, with what to do. Exits 0 when
 * `run` would deploy it, 3 when `run` would refuse it without --allow-incompatible.
 */
export function registerPlanCommand(program: Command): void {
  addLogOptions(
    program
      .command("plan <app>")
      .description(
        "compare a topology file with the app's deployed topology: what each change does to its state",
      ),
  ).action(async (file: string, flags: LogFlags) => {
    const { topology } = await loadApp(file);
    const running = await withLog(flags, (log) =>
      readDeployedTopology(log, topology.applicationId),
    );
    const plan = planDeploy(running, deployedTopology(topology));
    process.stdout.write(formatPlan(plan));
    if (plan.verdict !== "compatible") process.exitCode = 3;
  });
}

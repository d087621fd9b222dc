import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { type LogClient, openLog } from "@tributary/log";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  REPO,
  type Spawned,
  cleanup,
  cli,
  eventually,
  spawnCli,
  startBroker,
  tempDir,
  waitForLine,
} from "../../cli/test/helpers.js";

/**
 * The console as a person sees it, in Debian's Chromium driven by playwright-core: a real
 * broker process, a topic with data, a consumer group with lag, a real worker process
 * (`tributary run` of the word-count example) publishing its status, and
 * `tributary console` serving the page. Screenshots go to test-output/.
 */
const CHROMIUM = "/usr/bin/chromium";
const OUTPUT = path.resolve(import.meta.dirname, "../test-output");
const WORD_COUNT = path.join(REPO, "examples/word-count/src/app.ts");

let broker: Spawned & { address: string };
let consoleUrl: string;
let log: LogClient;
let context: BrowserContext;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    // A fresh machine: install Debian's Chromium the way CI does (needs root), so that
    // `npm install && npm test` passes there too.
    const install = spawnSync("bash", [path.join(REPO, "scripts/chromium.sh")], {
      stdio: "inherit",
      timeout: 600_000,
    });
    if (install.status !== 0) process.stderr.write("scripts/chromium.sh failed\n");
  }
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the console test needs Debian's Chromium; install it with scripts/chromium.sh (as root: apt-get install -y chromium)`,
    );
  }
  fs.mkdirSync(OUTPUT, { recursive: true });
  const data = tempDir("tributary-console-");
  broker = await startBroker(data);
  log = await openLog({ broker: broker.address });
  await log.admin.createTopic("orders", { partitions: 2 });
  await log.admin.createTopic("text-lines", { partitions: 2 });
  await log.admin.createTopic("word-counts", { partitions: 2 });
  const producer = log.producer();
  await producer.send(
    "orders",
    Array.from({ length: 200 }, (_, i) => ({
      key: Buffer.from(`k-${i % 10}`),
      value: Buffer.from(JSON.stringify({ order: i, amount: i * 3 })),
    })),
  );
  await producer.send(
    "text-lines",
    Array.from({ length: 50 }, (_, i) => ({ value: Buffer.from(`the quick fox ${i}`) })),
  );
  await producer.close();
  // A group that read 10 records of each partition: it lags by the rest.
  await log.admin.resetOffsets("billing", { to: "offset", offset: 10 }, { topics: ["orders"] });

  spawnCli(["run", WORD_COUNT, "--broker", broker.address, "--progress", "none"]);
  const server = spawnCli([
    "console",
    "--broker",
    broker.address,
    "--listen",
    "127.0.0.1:0",
    "--sample-ms",
    "500",
  ]);
  consoleUrl = (await waitForLine(server, /^console listening on (\S+)/))[1]!;

  context = await chromium.launchPersistentContext(tempDir("tributary-chromium-"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1400, height: 1000 },
  });
}, 720_000);

afterAll(async () => {
  await context?.close();
  await log?.close();
  await cleanup();
});

describe("tributary console in headless Chromium", () => {
  it("shows the topics with their sizes, the group with its lag per partition, and the running app with its drawn topology", async () => {
    const page = await context.newPage();
    const failures: string[] = [];
    page.on("pageerror", (e) => failures.push(e.message));
    await page.goto(consoleUrl);

    // Topics: both partitions of 'orders', holding the 200 records between them.
    const orderRows = page.locator('#topic-rows tr[data-topic="orders"]');
    await expect.poll(() => orderRows.count(), { timeout: 20_000 }).toBe(2);
    const ends = await orderRows.evaluateAll((rows) =>
      rows.map((r) => Number(r.children[3]!.textContent!.replace(/,/g, ""))),
    );
    expect(ends.reduce((a, b) => a + b, 0)).toBe(200);

    // The group: lag per partition = end - 10, and a uPlot chart with a line per partition.
    const billing = page.locator('.group[data-group="billing"]');
    const lags = await eventually("billing's lag rows", async () => {
      const rows = await billing
        .locator(".lag-row")
        .evaluateAll((rs) =>
          rs.map((r) => [r.getAttribute("data-tp"), Number(r.getAttribute("data-lag"))] as const),
        );
      return rows.length === 2 ? rows : undefined;
    });
    expect(Object.fromEntries(lags)).toEqual({
      "orders-0": ends[0]! - 10,
      "orders-1": ends[1]! - 10,
    });
    await expect.poll(() => billing.locator(".lag-chart canvas").count()).toBeGreaterThan(0);
    const legend = await billing.locator(".lag-chart .u-legend").textContent();
    expect(legend).toContain("orders-0");
    expect(legend).toContain("orders-1");

    // The app: its worker's status arrives, and the topology is drawn by Mermaid as SVG
    // holding every node, topic and store the compiled topology has.
    const app = page.locator('.app[data-app="word-count"]');
    await app.locator(".topology svg").waitFor({ timeout: 45_000 });
    const labels = [
      ...cli(["describe", WORD_COUNT, "--mermaid"]).matchAll(
        /\["([^"]+)"\]|\[\/"([^"]+)"\/\]|\[\("([^"]+)"\)\]/g,
      ),
    ].map((m) => m[1] ?? m[2] ?? m[3]!);
    expect(labels).toEqual(expect.arrayContaining(["text-lines", "word-counts", "counts"]));
    const svgText = await app.locator(".topology svg").textContent();
    for (const label of labels) expect(svgText).toContain(label);
    // Its tasks (2 partitions x 2 sub-topologies) with the count store and its restore.
    await expect
      .poll(
        () =>
          app
            .locator(".task")
            .evaluateAll((ts) => ts.map((t) => t.getAttribute("data-task")).sort()),
        {
          timeout: 45_000,
        },
      )
      .toEqual(["0_0", "0_1", "1_0", "1_1"]);
    expect(await app.locator('.task[data-task="1_0"] .store[data-store="counts"]').count()).toBe(1);
    await page.screenshot({ path: path.join(OUTPUT, "console-overview.png"), fullPage: true });
    await app.locator(".topology").screenshot({ path: path.join(OUTPUT, "console-topology.png") });

    // The browser: the last 5 records of orders-0, then a search by key over both partitions.
    await page.selectOption("#browse-topic", "orders");
    await page.fill('input[name="limit"]', "5");
    await page.click('#browse-form button[type="submit"]');
    const offsets = await eventually("tailed records", async () => {
      const o = await page
        .locator("#browse-result .record")
        .evaluateAll((rs) => rs.map((r) => Number(r.getAttribute("data-offset"))));
      return o.length > 0 ? o : undefined;
    });
    expect(offsets).toEqual([0, 1, 2, 3, 4].map((i) => ends[0]! - 5 + i));
    await page.selectOption('select[name="mode"]', "search");
    await page.fill('input[name="key"]', "k-7");
    await page.fill('input[name="limit"]', "100");
    await page.click('#browse-form button[type="submit"]');
    await expect.poll(() => page.locator("#browse-result .record").count()).toBe(20); // 200 records, keys k-0..k-9
    const keys = await page.locator("#browse-result .record td:nth-child(4)").allTextContents();
    expect(new Set(keys)).toEqual(new Set(["k-7"]));
    await page.screenshot({ path: path.join(OUTPUT, "console-browser.png"), fullPage: true });

    for (const shot of ["console-overview.png", "console-topology.png", "console-browser.png"]) {
      const png = fs.readFileSync(path.join(OUTPUT, shot));
      expect(png.subarray(1, 4).toString()).toBe("PNG");
      expect(png.length).toBeGreaterThan(10_000);
    }
    expect(failures).toEqual([]);
  }, 150_000); // about 40 s alone; the bound is for a loaded machine
});

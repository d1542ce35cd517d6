import { parseArgs } from "node:util";
import { startLocalCloud } from "./cloud";

const HELP = `Usage: npm run local-cloud -- [options]

Starts the local Huawei Cloud (ECS, OBS, FunctionGraph + APIG), the Telegram Bot API fake and
the MaaS fake on 127.0.0.1, and writes their endpoints and test credentials to
.local-cloud/endpoints.json. Ctrl-C stops everything.

Options:
  --time-scale <f>  speed of emulated time: 1 = real time, 0.1 = ten times faster (default 1)
  --boxes <n>       watched boxes (ECS servers running a stand-in gateway) (default 1)
  --dir <path>      state folder (default .local-cloud)
  -h, --help        this text`;

const { values } = parseArgs({
  options: {
    "time-scale": { type: "string", default: "1" },
    boxes: { type: "string", default: "1" },
    dir: { type: "string", default: ".local-cloud" },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  console.log(HELP);
  process.exit(0);
}

const begun = performance.now();
const cloud = await startLocalCloud({
  dir: values.dir,
  timeScale: Number(values["time-scale"]),
  boxes: Number(values.boxes),
});
const e = cloud.endpoints;
console.log(`local cloud ready in ${Math.round(performance.now() - begun)} ms`);
console.table({
  ECS: e.ecs,
  OBS: e.obs,
  FunctionGraph: e.functionGraph,
  APIG: e.apig,
  "APIG (HTTPS, self-signed)": e.apigHttps,
  "Telegram Bot API": e.telegram,
  MaaS: `${e.maas}/v1`,
  control: e.control,
  ...Object.fromEntries(e.boxes.map((b) => [`gateway ${b.name}`, b.gatewayUrl])),
});
console.log(`endpoints and test credentials: ${cloud.endpointsFile}`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log("stopping local cloud…");
    cloud.stop().then(() => process.exit(0));
  });
}

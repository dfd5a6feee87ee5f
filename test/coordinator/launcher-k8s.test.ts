// The k8s launcher and its manifests: the generated Secret, headless Service and Indexed Job (and the
// deploy/k8s templates) validated against the Kubernetes API schema (kubernetes-models, generated from
// the official OpenAPI definitions), and the launcher driven against a fake API server on 127.0.0.1 that
// records requests and answers as the API does (201 with the object, 403/409 with a Status).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Job } from "kubernetes-models/batch/v1/Job";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { runCluster } from "../../src/coordinator/cluster.ts";
import {
  INDEX_ANNOTATION,
  INDEX_LABEL,
  islandManifests,
  islandObjectNames,
  RUN_LABEL,
  TOKEN_KEY,
} from "../../src/coordinator/k8s-manifests.ts";
import type { IslandExit, IslandHandle } from "../../src/coordinator/launcher.ts";
import {
  islandJoinUrl,
  K8S_PERMISSIONS,
  K8sApiError,
  k8sLauncher,
  k8sOptionsFromFlags,
} from "../../src/coordinator/launcher-k8s.ts";
import { resolveConfig } from "../../src/core/config.ts";
import { makeEvaluator } from "../../src/evaluator/index.ts";
import { captureLogger, type Logger, silentLogger } from "../../src/io/log.ts";

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

const SECRET = "5ec7e7-run-token-0123456789abcdef0123456789abcdef";
const RUN = "run-0123456789abcdef";

type Model = { validate(): void };
const MODELS: Record<string, new (data: never) => Model> = {
  "batch/v1/Job": Job as never,
  "v1/Service": Service as never,
  "v1/Secret": Secret as never,
  "v1/ServiceAccount": ServiceAccount as never,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim as never,
  "rbac.authorization.k8s.io/v1/Role": Role as never,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding as never,
};

/** Validates one object against the API schema of its apiVersion and kind (throws with the paths at fault). */
function validate(object: object): void {
  const { apiVersion, kind } = object as { apiVersion?: string; kind?: string };
  const key = `${apiVersion}/${kind}`;
  const Model = MODELS[key];
  if (!Model) throw new Error(`no schema for ${key} in this test`);
  new Model(structuredClone(object) as never).validate();
}

function manifests(islands = 4) {
  return islandManifests({
    runId: RUN,
    namespace: "slt",
    islands,
    joinUrl: `ws://slt-coordinator.slt.svc:7070/?run=${RUN}`,
    secret: SECRET,
    image: "registry.example.com/slt-islands:0.1.0",
  });
}

describe("island manifests", () => {
  it("are valid Kubernetes objects", () => {
    const m = manifests();
    for (const object of [m.secret, m.service, m.job]) expect(() => validate(object)).not.toThrow();
    // and the validation is not vacuous: a wrong type or an unknown enum value is refused
    const broken = structuredClone(m.job) as unknown as { spec: Record<string, unknown> };
    broken.spec.completions = "4";
    expect(() => validate(broken as never)).toThrow(/completions/);
    const badService = structuredClone(m.service) as unknown as { spec: Record<string, unknown> };
    badService.spec.ports = [{ port: "not a number" }];
    expect(() => validate(badService as never)).toThrow(/port/);
  });

  it("make an Indexed Job of one pod per island joining the coordinator", () => {
    const { job, names, labels } = manifests(4);
    const spec = (job as unknown as { spec: Record<string, unknown> }).spec;
    expect(spec).toMatchObject({
      completionMode: "Indexed",
      completions: 4,
      parallelism: 4,
      backoffLimitPerIndex: 0,
    });
    const pod = (spec.template as { metadata: { labels: object }; spec: Record<string, unknown> }).spec;
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.subdomain).toBe(names.service);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    const [c] = pod.containers as Record<string, unknown>[];
    expect(c.command).toEqual([
      "node",
      "src/island/main.ts",
      "--join",
      `ws://slt-coordinator.slt.svc:7070/?run=${RUN}`,
      "--listen",
      "auto",
    ]);
    expect(c.env).toEqual([
      {
        name: "SLT_ISLAND_INDEX",
        valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${INDEX_ANNOTATION}']` } },
      },
      { name: "SLT_TOKEN", valueFrom: { secretKeyRef: { name: names.secret, key: TOKEN_KEY } } },
    ]);
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(c.resources).toMatchObject({ requests: { cpu: "1" }, limits: { memory: "2Gi" } });
    // the secret is only in the Secret, base64-encoded; never in the Job or the Service
    expect(JSON.stringify(job)).not.toContain(SECRET);
    expect(JSON.stringify(manifests(4).service)).not.toContain(SECRET);
    expect(
      Buffer.from((manifests(4).secret.data as Record<string, string>)[TOKEN_KEY], "base64").toString(),
    ).toBe(SECRET);
    // every object carries the run label, and the headless Service selects exactly the island pods
    expect(labels[RUN_LABEL]).toBe(RUN);
    for (const o of [manifests().secret, manifests().service, job])
      expect((o as { metadata: { labels: object } }).metadata.labels).toMatchObject({ [RUN_LABEL]: RUN });
    const service = manifests().service as { spec: { clusterIP: string; selector: Record<string, string> } };
    expect(service.spec.clusterIP).toBe("None");
    const podLabels = (spec.template as { metadata: { labels: Record<string, string> } }).metadata.labels;
    for (const [k, v] of Object.entries(service.spec.selector)) expect(podLabels[k]).toBe(v);
  });

  it("give names that fit DNS labels, with room for the pod index", () => {
    const names = islandObjectNames("Run_ID with Spaces and a very long tail that goes on and on and on");
    for (const n of Object.values(names)) expect(n).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(`${names.job}-9999`.length).toBeLessThanOrEqual(63);
    expect(() => islandManifests({ ...baseInput(), islands: 0 })).toThrow(/islands/);
    expect(() => islandManifests({ ...baseInput(), image: "" })).toThrow(/image/);
  });

  it("let islands advertise a given address instead of the pod's own, still valid", () => {
    const m = islandManifests({ ...baseInput(), islandListen: "0.0.0.0" });
    const c = (m.job as { spec: { template: { spec: { containers: { command: string[] }[] } } } }).spec
      .template.spec.containers[0];
    expect(c.command.slice(-2)).toEqual(["--listen", "0.0.0.0"]);
    for (const object of [m.secret, m.service, m.job]) expect(() => validate(object)).not.toThrow();
  });

  it("hand a wss:// run's certificate pin to the islands as SLT_TLS_PIN, still valid", () => {
    const m = islandManifests({ ...baseInput(), tlsPin: "AB:CD" });
    const c = (m.job as { spec: { template: { spec: { containers: { env: object[] }[] } } } }).spec.template
      .spec.containers[0];
    expect(c.env).toContainEqual({ name: "SLT_TLS_PIN", value: "AB:CD" });
    expect(() => validate(m.job)).not.toThrow();
    const plain = islandManifests(baseInput());
    expect(JSON.stringify(plain.job)).not.toContain("SLT_TLS_PIN");
  });
});

function baseInput() {
  return {
    runId: RUN,
    namespace: "slt",
    islands: 2,
    joinUrl: `ws://c.slt.svc:7070/?run=${RUN}`,
    secret: SECRET,
    image: "img:1",
  };
}

describe("deploy/k8s templates", () => {
  const dir = resolve(import.meta.dirname, "..", "..", "deploy", "k8s");
  const objects = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(dir, f), "utf8")).map((d) => ({
        file: f,
        object: d.toJS() as Record<string, unknown>,
      })),
    );

  it("are valid Kubernetes objects", () => {
    expect(objects.length).toBeGreaterThanOrEqual(5);
    for (const { file, object } of objects) {
      try {
        validate(object);
      } catch (e) {
        throw new Error(`${file}: ${(object as { kind: string }).kind}: ${(e as Error).message}`);
      }
    }
  });

  it("grant the coordinator every permission the launcher uses, and run it non-root", () => {
    const role = objects.find((o) => o.object.kind === "Role")?.object as {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    for (const need of K8S_PERMISSIONS) {
      for (const verb of need.verbs) {
        const granted = role.rules.some(
          (r) =>
            r.apiGroups.includes(need.apiGroup) &&
            r.resources.includes(need.resource) &&
            r.verbs.includes(verb),
        );
        expect(granted, `${verb} ${need.apiGroup}/${need.resource}`).toBe(true);
      }
    }
    const binding = objects.find((o) => o.object.kind === "RoleBinding")?.object as {
      subjects: { name: string }[];
    };
    const job = objects.find((o) => o.object.kind === "Job")?.object as {
      spec: {
        template: { spec: { serviceAccountName: string; securityContext: { runAsNonRoot: boolean } } };
      };
    };
    expect(binding.subjects[0].name).toBe(job.spec.template.spec.serviceAccountName);
    expect(job.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });
  it("keep the run directory on a PersistentVolumeClaim and resume the run when its checkpoint is there", () => {
    const claim = objects.find((o) => o.object.kind === "PersistentVolumeClaim")?.object as {
      metadata: { name: string };
    };
    const job = objects.find((o) => o.object.kind === "Job")?.object as {
      spec: {
        backoffLimit: number;
        template: {
          spec: {
            volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[];
            containers: {
              args: string[];
              volumeMounts: { name: string; mountPath: string }[];
              env: { name: string; value?: string }[];
            }[];
          };
        };
      };
    };
    const pod = job.spec.template.spec;
    const runs = pod.volumes.find((v) => v.persistentVolumeClaim?.claimName === claim.metadata.name);
    expect(runs).toBeDefined();
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: runs?.name, mountPath: "/runs" });
    expect(job.spec.backoffLimit).toBeGreaterThan(0);
    // the container's script, run by sh with a stand-in `node` that prints what it was asked to run
    const bin = mkdtempSync(join(tmpdir(), "slt-k8s-script-"));
    try {
      writeFileSync(join(bin, "node"), '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
      const runName = pod.containers[0].env.find((e) => e.name === "RUN_NAME")?.value as string;
      const script = (runsDir: string) =>
        spawnSync("/bin/sh", ["-c", pod.containers[0].args[0]], {
          env: { PATH: `${bin}:/usr/bin:/bin`, SLT_RUNS: runsDir, RUN_NAME: runName, POD_IP: "10.0.0.9" },
          encoding: "utf8",
        });
      const runsDir = join(bin, "runs");
      mkdirSync(runsDir);
      const fresh = script(runsDir);
      expect(fresh.status).toBe(0);
      expect(fresh.stdout).toMatch(
        new RegExp(
          `^src/cli.ts run --name ${runName} --out ${runsDir} --launcher k8s --listen 10.0.0.9:7070 `,
        ),
      );
      // a directory without a checkpoint is moved aside, and the run starts again
      mkdirSync(join(runsDir, runName));
      expect(script(runsDir).stdout).toMatch(/^src\/cli.ts run /);
      expect(readdirSync(runsDir).filter((f) => f.startsWith(`${runName}.no-checkpoint-`))).toHaveLength(1);
      mkdirSync(join(runsDir, runName));
      writeFileSync(join(runsDir, runName, "checkpoint.json"), "{}");
      expect(script(runsDir).stdout).toBe(
        `src/cli.ts resume ${join(runsDir, runName)} --launcher k8s --listen 10.0.0.9:7070 --k8s-coordinator slt-coordinator.slt.svc:7070\n`,
      );
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

// ---- a fake Kubernetes API server on loopback ----

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  auth: string | undefined;
  contentType: string | undefined;
  body: Record<string, unknown> | null;
}

interface FakeApi {
  url: string;
  requests: Recorded[];
  /** answers for "METHOD /path" (path without query): a status and a Status message */
  refuse: Map<string, { status: number; reason: string; message: string }>;
  /** the pods GET answers with */
  pods: Record<string, unknown>[];
  /** called with each created Job and the stored objects (a fake kubelet runs its pods) */
  onJob?: (job: Record<string, unknown>, stored: Map<string, Record<string, unknown>>) => void;
  /** called for each DELETE (path and query) after it is answered */
  onDelete?: (r: Recorded) => void;
  /** resolves with the first request (already made or still to come) matching `test` */
  waitFor(test: (r: Recorded) => boolean): Promise<Recorded>;
  close(): Promise<void>;
}

async function fakeApi(tls?: { key: string; cert: string }): Promise<FakeApi> {
  const requests: Recorded[] = [];
  const waiters: { test: (r: Recorded) => boolean; done: (r: Recorded) => void }[] = [];
  const refuse = new Map<string, { status: number; reason: string; message: string }>();
  const stored = new Map<string, Record<string, unknown>>();
  const api: FakeApi = {
    url: "",
    requests,
    refuse,
    pods: [],
    waitFor(test) {
      const seen = requests.find(test);
      if (seen) return Promise.resolve(seen);
      return new Promise((done) => waiters.push({ test, done }));
    },
    close: () => new Promise((done) => server.close(() => done())),
  };
  const status = (code: number, reason: string, message: string) => ({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  });
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const text = Buffer.concat(chunks).toString("utf8");
      const r: Recorded = {
        method: req.method ?? "",
        path: url.pathname,
        query: url.searchParams,
        auth: req.headers.authorization,
        contentType: req.headers["content-type"],
        body: text ? JSON.parse(text) : null,
      };
      requests.push(r);
      for (const w of [...waiters]) {
        if (w.test(r)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.done(r);
        }
      }
      const send = (code: number, body: unknown) => {
        res.writeHead(code, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      const refusal = refuse.get(`${r.method} ${r.path}`);
      if (refusal) return send(refusal.status, status(refusal.status, refusal.reason, refusal.message));
      if (r.auth !== "Bearer test-token") return send(401, status(401, "Unauthorized", "Unauthorized"));
      if (r.method === "POST" && r.body) {
        const name = (r.body.metadata as { name: string }).name;
        const key = `${r.path}/${name}`;
        if (stored.has(key))
          return send(409, status(409, "AlreadyExists", `${r.body.kind} "${name}" already exists`));
        const object: Record<string, unknown> = {
          ...r.body,
          metadata: { ...(r.body.metadata as object), uid: `uid-${stored.size}` },
        };
        stored.set(key, object);
        send(201, object);
        if (object.kind === "Job") api.onJob?.(object, stored);
        return;
      }
      if (r.method === "GET" && r.path.endsWith("/pods"))
        return send(200, { kind: "PodList", apiVersion: "v1", metadata: {}, items: api.pods });
      if (r.method === "DELETE" && r.path.endsWith("/pods")) {
        send(200, { kind: "PodList", apiVersion: "v1", metadata: {}, items: [] });
        return api.onDelete?.(r);
      }
      if (r.method === "DELETE") {
        if (!stored.delete(r.path)) return send(404, status(404, "NotFound", `${r.path} not found`));
        send(200, status(200, "", ""));
        return api.onDelete?.(r);
      }
      send(405, status(405, "MethodNotAllowed", "not in this fake"));
    });
  };
  const server: Server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  api.url = `${tls ? "https" : "http"}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}

/** The API's answer to a request the service account may not make. */
const forbid = (message: string) => ({ status: 403, reason: "Forbidden", message });

describe("k8s launcher against a fake API server", () => {
  let api: FakeApi;
  let logger: Logger;
  let records: Record<string, unknown>[];
  beforeEach(async () => {
    api = await fakeApi();
    ({ logger, records } = captureLogger());
  });
  afterEach(async () => {
    await api.close();
  });

  const launcher = (extra: object = {}) =>
    k8sLauncher({
      apiServer: api.url,
      namespace: "slt",
      image: "registry.example.com/slt-islands:0.1.0",
      token: "test-token",
      coordinatorHost: "slt-coordinator.slt.svc",
      coordinatorPort: 7070,
      pollIntervalMs: 0,
      logger,
      ...extra,
    });

  it("creates the Secret, Service and Job, and deletes them all on close", async () => {
    const l = launcher();
    expect(l.name).toBe("k8s");
    const handles = await l.start(3, `ws://10.1.2.3:7070/?run=${RUN}`, SECRET);
    const names = islandObjectNames(RUN);
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /api/v1/namespaces/slt/secrets",
      "POST /api/v1/namespaces/slt/services",
      "POST /apis/batch/v1/namespaces/slt/jobs",
    ]);
    for (const r of api.requests) {
      expect(r.auth).toBe("Bearer test-token");
      expect(r.contentType).toBe("application/json");
      expect(() => validate(r.body as Record<string, unknown>)).not.toThrow();
    }
    const [secret, service, job] = api.requests.map((r) => r.body as Record<string, never>);
    expect(secret).toMatchObject({ kind: "Secret", metadata: { name: names.secret, namespace: "slt" } });
    expect(Buffer.from((secret.data as Record<string, string>)[TOKEN_KEY], "base64").toString()).toBe(SECRET);
    expect(service).toMatchObject({ kind: "Service", spec: { clusterIP: "None" } });
    expect(job).toMatchObject({
      kind: "Job",
      spec: { completions: 3, parallelism: 3, completionMode: "Indexed" },
    });
    const container = (
      job as unknown as { spec: { template: { spec: { containers: { command: string[] }[] } } } }
    ).spec.template.spec.containers[0];
    // the join URL points at the coordinator's in-cluster address, same run
    expect(container.command.at(-3)).toBe(`ws://slt-coordinator.slt.svc:7070/?run=${RUN}`);
    expect(JSON.stringify(job)).not.toContain(SECRET);

    expect(handles.map((h) => [h.index, h.host, h.pid])).toEqual([
      [0, `${names.job}-0.${names.service}.slt.svc`, null],
      [1, `${names.job}-1.${names.service}.slt.svc`, null],
      [2, `${names.job}-2.${names.service}.slt.svc`, null],
    ]);

    api.requests.length = 0;
    await l.close();
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `DELETE /apis/batch/v1/namespaces/slt/jobs/${names.job}`,
      `DELETE /api/v1/namespaces/slt/services/${names.service}`,
      `DELETE /api/v1/namespaces/slt/secrets/${names.secret}`,
    ]);
    expect(api.requests[0].body).toMatchObject({ kind: "DeleteOptions", propagationPolicy: "Background" });
    for (const r of api.requests) expect(r.auth).toBe("Bearer test-token");
    const exits = await Promise.all(handles.map((h) => h.exited));
    expect(exits).toEqual(handles.map(() => ({ code: null, signal: "SIGKILL" })));
    // close is safe to call again and sends nothing more
    await l.close();
    expect(api.requests).toHaveLength(3);
  });

  it("reports a 403 with the status and the API's message, and leaves nothing behind", async () => {
    const forbidden =
      'jobs.batch is forbidden: User "system:serviceaccount:slt:slt-coordinator" cannot create resource "jobs" in API group "batch" in the namespace "slt"';
    api.refuse.set("POST /apis/batch/v1/namespaces/slt/jobs", forbid(forbidden));
    const l = launcher();
    const error = await rejection(l.start(2, `ws://10.1.2.3:7070/?run=${RUN}`, SECRET));
    expect(error).toBeInstanceOf(K8sApiError);
    const e = error as K8sApiError;
    expect(e.status).toBe(403);
    expect(e.reason).toBe("Forbidden");
    expect(e.code).toBe("E_CLUSTER");
    expect(e.message).toContain("POST /apis/batch/v1/namespaces/slt/jobs: 403 Forbidden");
    expect(e.message).toContain(forbidden);
    expect(e.message).toContain("deploy/k8s/rbac.yaml");
    // the Secret and Service made before the refusal are deleted again, newest first
    const names = islandObjectNames(RUN);
    expect(api.requests.slice(3).map((r) => `${r.method} ${r.path}`)).toEqual([
      `DELETE /api/v1/namespaces/slt/services/${names.service}`,
      `DELETE /api/v1/namespaces/slt/secrets/${names.secret}`,
    ]);
  });

  it("reports a 409 conflict when the run's objects already exist", async () => {
    await launcher().start(1, `ws://10.1.2.3:7070/?run=${RUN}`, SECRET);
    const error = await rejection(launcher().start(1, `ws://10.1.2.3:7070/?run=${RUN}`, SECRET));
    expect((error as K8sApiError).status).toBe(409);
    expect((error as Error).message).toMatch(
      /POST \/api\/v1\/namespaces\/slt\/secrets: 409 Conflict: .*already exists/,
    );
  });

  it("reports a refused token (401) and an unreachable API server", async () => {
    const bad = await rejection(
      launcher({ token: "wrong" }).start(1, `ws://10.1.2.3:7070/?run=${RUN}`, SECRET),
    );
    expect(bad.message).toMatch(/401 Unauthorized: Unauthorized; the API token/);
    const url = api.url;
    await api.close();
    const down = await rejection(
      launcher({ apiServer: url }).start(1, `ws://10.1.2.3:7070/?run=${RUN}`, SECRET),
    );
    expect(down.message).toContain(`cannot reach the Kubernetes API at ${url}`);
    api = await fakeApi(); // for afterEach
  });

  it("refuses a coordinator no pod can reach, before any request", async () => {
    // the coordinator listens on loopback: nothing in a pod reaches it, whatever name islands use
    const listening = await rejection(launcher().start(1, `ws://127.0.0.1:40123/?run=${RUN}`, SECRET));
    expect(listening.message).toMatch(/coordinator listens on 127\.0\.0\.1:40123.*--listen/);
    // islands told to join through a loopback name
    const joining = await rejection(
      launcher({ coordinatorHost: "localhost" }).start(1, `ws://10.1.2.3:7070/?run=${RUN}`, SECRET),
    );
    expect(joining.message).toMatch(/cannot reach the coordinator at localhost:7070.*--k8s-coordinator/);
    expect(api.requests).toHaveLength(0);
    // the coordinator's own address serves when no other name is given; a name replaces host and port
    expect(islandJoinUrl(`ws://10.1.2.3:7070/?run=${RUN}`)).toBe(`ws://10.1.2.3:7070/?run=${RUN}`);
    expect(islandJoinUrl(`ws://10.1.2.3:7070/?run=${RUN}`, "c.ns.svc", 7171)).toBe(
      `ws://c.ns.svc:7171/?run=${RUN}`,
    );
    expect(islandJoinUrl(`ws://10.1.2.3:7070/?run=${RUN}`, "c.ns.svc")).toBe(
      `ws://c.ns.svc:7070/?run=${RUN}`,
    );
    expect(islandJoinUrl(`ws://127.0.0.1:5/?run=${RUN}`, undefined, undefined, true)).toBe(
      `ws://127.0.0.1:5/?run=${RUN}`,
    );
  });

  it("sees islands end through the pod list, and kills one island by deleting its pod", async () => {
    const names = islandObjectNames(RUN);
    api.pods = [
      {
        metadata: {
          name: `${names.job}-1-abcde`,
          labels: { [RUN_LABEL]: RUN, [INDEX_LABEL]: "1" },
          annotations: { [INDEX_ANNOTATION]: "1" },
        },
        status: { phase: "Succeeded", containerStatuses: [{ state: { terminated: { exitCode: 0 } } }] },
      },
      {
        // an older cluster without the index label: the annotation is used
        metadata: { name: `${names.job}-2-fghij`, annotations: { [INDEX_ANNOTATION]: "2" } },
        status: { phase: "Failed", containerStatuses: [{ state: { terminated: { exitCode: 1 } } }] },
      },
      {
        metadata: { name: `${names.job}-3-klmno`, labels: { [INDEX_LABEL]: "3" } },
        status: {
          phase: "Pending",
          containerStatuses: [
            { state: { waiting: { reason: "ImagePullBackOff", message: "Back-off pulling image" } } },
          ],
        },
      },
    ];
    const l = launcher({ pollIntervalMs: 5 });
    const handles = await l.start(4, `ws://10.1.2.3:7070/?run=${RUN}`, SECRET);
    expect(await handles[1].exited).toEqual({ code: 0, signal: null });
    expect(await handles[2].exited).toEqual({ code: 1, signal: null });
    const list = await api.waitFor((r) => r.method === "GET");
    expect(list.path).toBe("/api/v1/namespaces/slt/pods");
    expect(list.query.get("labelSelector")).toBe(`${RUN_LABEL}=${RUN}`);
    expect(list.auth).toBe("Bearer test-token");

    handles[0].kill();
    const killed: IslandExit = await handles[0].exited;
    expect(killed).toEqual({ code: null, signal: "SIGKILL" });
    const del = await api.waitFor((r) => r.method === "DELETE");
    expect(del.path).toBe("/api/v1/namespaces/slt/pods");
    expect(del.query.get("labelSelector")).toBe(`${RUN_LABEL}=${RUN},${INDEX_LABEL}=0`);
    expect(del.query.get("gracePeriodSeconds")).toBe("0");

    // a pod that cannot start is reported once, and its island is not taken for ended
    expect(records.filter((r) => r.msg === "island pod cannot start")).toEqual([
      expect.objectContaining({
        level: 50,
        index: 3,
        pod: `${names.job}-3-klmno`,
        code: "ImagePullBackOff",
        reason: "Back-off pulling image",
      }),
    ]);
    await l.close();
    expect(await handles[3].exited).toEqual({ code: null, signal: "SIGKILL" });
  });
  it("restarts an island by following the pod the Job controller makes again for its index", async () => {
    const names = islandObjectNames(RUN);
    const pod = (name: string, phase: string, exitCode?: number) => ({
      metadata: { name, labels: { [RUN_LABEL]: RUN, [INDEX_LABEL]: "1" } },
      status: {
        phase,
        containerStatuses: exitCode === undefined ? [] : [{ state: { terminated: { exitCode } } }],
      },
    });
    const l = launcher({ pollIntervalMs: 5 });
    await expect(l.restart?.(1) as Promise<unknown>).rejects.toThrow(/did not start island 1/);
    const handles = await l.start(2, `ws://10.1.2.3:7070/?run=${RUN}`, SECRET, { maxRestarts: 2 });
    // the Job lets the controller make a failed index's pod again as often as the run restarts islands
    const job = await api.waitFor((r) => r.method === "POST" && r.path.endsWith("/jobs"));
    expect((job.body as { spec: { backoffLimitPerIndex: number } }).spec.backoffLimitPerIndex).toBe(2);
    api.pods = [pod(`${names.job}-1-first`, "Failed", 137)];
    expect(await handles[1].exited).toEqual({ code: 137, signal: null });
    const again = await (l.restart as (i: number) => Promise<IslandHandle>)(1);
    expect([again.index, again.host]).toEqual([1, handles[1].host]);
    // the failed pod stays listed; the new handle waits for the new pod
    api.pods = [pod(`${names.job}-1-first`, "Failed", 137), pod(`${names.job}-1-second`, "Running")];
    let ended = false;
    void again.exited.then(() => {
      ended = true;
    });
    // two polls after the change: the first one's answer has been looked at (polls never overlap)
    const mark = api.requests.length;
    const gets = () => api.requests.slice(mark).filter((r) => r.method === "GET").length;
    await api.waitFor((r) => r.method === "GET" && api.requests.indexOf(r) >= mark && gets() >= 2);
    expect(ended).toBe(false);
    api.pods = [pod(`${names.job}-1-first`, "Failed", 137), pod(`${names.job}-1-second`, "Failed", 1)];
    expect(await again.exited).toEqual({ code: 1, signal: null });
    await expect(l.restart?.(2) as Promise<unknown>).rejects.toThrow(/did not start island 2/);
    await l.close();
  });

  it("logs the Job it started and the API's refusals as records: a pod list (once), a delete", async () => {
    const names = islandObjectNames(RUN);
    const forbidden =
      'pods is forbidden: User "system:serviceaccount:slt:slt-coordinator" cannot list resource "pods"';
    api.refuse.set("GET /api/v1/namespaces/slt/pods", forbid(forbidden));
    api.refuse.set(
      `DELETE /api/v1/namespaces/slt/services/${names.service}`,
      forbid("services is forbidden"),
    );
    const l = launcher({ pollIntervalMs: 5 });
    await l.start(1, `ws://10.1.2.3:7070/?run=${RUN}`, SECRET);
    // a third poll: the first two answers (both 403) have been looked at (polls never overlap)
    await api.waitFor(() => api.requests.filter((r) => r.method === "GET").length >= 3);
    await l.close();
    expect(records.map((r) => r.msg)).toEqual([
      "islands started as a Job",
      "cannot list island pods",
      "could not delete; delete it by hand (kubectl delete)",
    ]);
    expect(records[0]).toMatchObject({
      level: 30,
      islands: 1,
      namespace: "slt",
      job: names.job,
      service: names.service,
      join: `ws://slt-coordinator.slt.svc:7070/?run=${RUN}`,
    });
    expect(records[1]).toMatchObject({
      level: 40,
      status: 403,
      code: "Forbidden",
      reason: expect.stringContaining(`GET /api/v1/namespaces/slt/pods?labelSelector=`),
    });
    expect(records[1].reason).toContain(forbidden);
    expect(records[2]).toMatchObject({
      level: 50,
      kind: "Service",
      path: `/api/v1/namespaces/slt/services/${names.service}`,
      status: 403,
      code: "Forbidden",
      reason: expect.stringContaining("services is forbidden"),
    });
    expect(JSON.stringify(records)).not.toContain(SECRET);
  });
});

describe("k8s options from flags and the in-cluster service account", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "slt-k8s-sa-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("defaults to the service account and KUBERNETES_SERVICE_HOST/PORT", () => {
    writeFileSync(join(dir, "namespace"), "slt-ns\n");
    writeFileSync(join(dir, "token"), "sa-token\n");
    writeFileSync(join(dir, "ca.crt"), "-----BEGIN CERTIFICATE-----\n");
    const o = k8sOptionsFromFlags(
      { k8sCoordinator: "slt-coordinator.slt-ns.svc:7070" },
      { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443", SLT_K8S_IMAGE: "img:2" },
      dir,
    );
    expect(o).toMatchObject({
      apiServer: "https://10.96.0.1:443",
      namespace: "slt-ns",
      image: "img:2",
      tokenFile: join(dir, "token"),
      caFile: join(dir, "ca.crt"),
      coordinatorHost: "slt-coordinator.slt-ns.svc",
      coordinatorPort: 7070,
    });
    const v6 = k8sOptionsFromFlags({ k8sImage: "i" }, { KUBERNETES_SERVICE_HOST: "fd00::1" }, dir);
    expect(v6.apiServer).toBe("https://[fd00::1]:443");
  });

  it("lets flags override, and says what is missing", () => {
    const o = k8sOptionsFromFlags(
      { k8sApi: "http://127.0.0.1:8001", k8sNamespace: "a", k8sImage: "i", k8sTokenFile: "/t" },
      {},
      dir,
    );
    expect(o).toMatchObject({
      apiServer: "http://127.0.0.1:8001",
      namespace: "a",
      tokenFile: "/t",
      caFile: undefined,
    });
    expect(() => k8sOptionsFromFlags({ k8sImage: "i" }, {}, dir)).toThrow(/--k8s-api/);
    expect(() => k8sOptionsFromFlags({ k8sApi: "http://x" }, {}, dir)).toThrow(/--k8s-image/);
    expect(() =>
      k8sOptionsFromFlags({ k8sApi: "http://x", k8sImage: "i", k8sCoordinator: "a:b:c" }, {}, dir),
    ).toThrow(/HOST\[:PORT\]/);
  });

  it("reads the token file for every request (rotated service-account tokens)", async () => {
    const api = await fakeApi();
    try {
      const tokenFile = join(dir, "token");
      writeFileSync(tokenFile, "old-token\n");
      const l = k8sLauncher({
        apiServer: api.url,
        namespace: "slt",
        image: "i",
        tokenFile,
        coordinatorHost: "c",
        pollIntervalMs: 0,
        logger: silentLogger(),
      });
      const error = await rejection(l.start(1, `ws://10.1.2.3:7070/?run=${RUN}`, SECRET));
      expect(error.message).toMatch(/401/);
      expect(api.requests[0].auth).toBe("Bearer old-token");
      writeFileSync(tokenFile, "test-token\n");
      const l2 = k8sLauncher({
        apiServer: api.url,
        namespace: "slt",
        image: "i",
        tokenFile,
        coordinatorHost: "c",
        pollIntervalMs: 0,
        logger: silentLogger(),
      });
      await l2.start(1, `ws://10.1.2.3:7070/?run=${RUN}`, SECRET);
      expect(api.requests.at(-1)?.auth).toBe("Bearer test-token");
      await l2.close();
    } finally {
      await api.close();
    }
  });
});

describe("k8s launcher over TLS", () => {
  const fixtures = resolve(import.meta.dirname, "fixtures");
  const cert = readFileSync(join(fixtures, "k8s-test-api.crt.pem"), "utf8");
  const key = readFileSync(join(fixtures, "k8s-test-api.key.pem"), "utf8");

  it("trusts the API server through the given CA file, and refuses a server it cannot verify", async () => {
    const api = await fakeApi({ key, cert });
    try {
      const options = {
        apiServer: api.url,
        namespace: "slt",
        image: "i",
        token: "test-token",
        coordinatorHost: "c",
        pollIntervalMs: 0,
        logger: silentLogger(),
      };
      const untrusted = await rejection(
        k8sLauncher(options).start(1, `ws://10.1.2.3:7070/?run=${RUN}`, SECRET),
      );
      expect(untrusted.message).toMatch(
        /cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ .*certificate/,
      );
      expect(api.requests).toHaveLength(0);
      const l = k8sLauncher({ ...options, caFile: join(fixtures, "k8s-test-api.crt.pem") });
      await l.start(1, `ws://10.1.2.3:7070/?run=${RUN}`, SECRET);
      expect(api.requests.map((r) => [r.method, r.auth])).toEqual([
        ["POST", "Bearer test-token"],
        ["POST", "Bearer test-token"],
        ["POST", "Bearer test-token"],
      ]);
      await l.close();
      expect(api.requests.filter((r) => r.method === "DELETE")).toHaveLength(3);
    } finally {
      await api.close();
    }
  });
});

// ---- a whole run: the fake API's "kubelet" runs the submitted Job's pods as local processes ----

const REPO_ROOT = resolve(import.meta.dirname, "..", "..");

interface FakePod {
  index: number;
  argv: string[];
  env: Record<string, string>;
  child: ChildProcess;
  exit: Promise<number | null>;
}

/**
 * Runs each created Job's pods as processes of this host, exactly from the Job's pod template: its
 * command (with `node` this Node), working directory /app = the repository, and env resolved as the
 * kubelet does (secretKeyRef from the stored Secret, the completion-index annotation by fieldRef).
 * Pods are listed with their phase; deleting the Job or a pod kills the processes.
 */
function fakeKubelet(api: FakeApi, output: string[]) {
  const pods: FakePod[] = [];
  api.onJob = (job, stored) => {
    type Env = { name: string; value?: string; valueFrom?: Record<string, Record<string, string>> };
    const meta = job.metadata as { name: string; namespace: string };
    const spec = job.spec as {
      completions: number;
      template: {
        metadata: { labels: Record<string, string> };
        spec: { containers: { command: string[]; workingDir: string; env: Env[] }[] };
      };
    };
    const container = spec.template.spec.containers[0];
    expect(container.workingDir).toBe("/app");
    for (let index = 0; index < spec.completions; index++) {
      const env: Record<string, string> = {};
      for (const e of container.env) {
        const secretRef = e.valueFrom?.secretKeyRef;
        const fieldRef = e.valueFrom?.fieldRef;
        if (e.value !== undefined) env[e.name] = e.value;
        else if (secretRef) {
          const secret = stored.get(`/api/v1/namespaces/${meta.namespace}/secrets/${secretRef.name}`) as {
            data: Record<string, string>;
          };
          env[e.name] = Buffer.from(secret.data[secretRef.key], "base64").toString("utf8");
        } else if (fieldRef?.fieldPath === `metadata.annotations['${INDEX_ANNOTATION}']`)
          env[e.name] = String(index);
        else throw new Error(`the fake kubelet cannot resolve env ${e.name}`);
      }
      const [command, ...args] = container.command;
      const child = spawn(command === "node" ? process.execPath : command, args, {
        cwd: REPO_ROOT,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      for (const stream of [child.stdout, child.stderr])
        stream?.on("data", (d: Buffer) => output.push(`[pod ${index}] ${d.toString("utf8").trimEnd()}`));
      const pod = {
        metadata: {
          name: `${meta.name}-${index}-fake`,
          labels: { ...spec.template.metadata.labels, [INDEX_LABEL]: String(index) },
          annotations: { [INDEX_ANNOTATION]: String(index) },
        },
        status: { phase: "Running" } as Record<string, unknown>,
      };
      api.pods.push(pod);
      const exit = new Promise<number | null>((done) =>
        child.once("exit", (code) => {
          pod.status = {
            phase: code === 0 ? "Succeeded" : "Failed",
            containerStatuses: [{ state: { terminated: { exitCode: code ?? 137 } } }],
          };
          done(code);
        }),
      );
      pods.push({ index, argv: container.command, env, child, exit });
    }
  };
  const kill = (p: FakePod) => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  };
  api.onDelete = (r) => {
    if (r.path.includes("/jobs/")) pods.forEach(kill);
    else if (r.path.endsWith("/pods")) {
      const index = /job-completion-index=(\d+)/.exec(r.query.get("labelSelector") ?? "")?.[1];
      for (const p of pods) if (String(p.index) === index) kill(p);
    }
  };
  return {
    pods,
    async stop() {
      pods.forEach(kill);
      await Promise.all(pods.map((p) => p.exit));
    },
  };
}

describe("a run with the k8s launcher, islands run by a fake kubelet from the submitted Job", () => {
  it("starts the islands from the Job's own command and env; they join, migrate, and everything is deleted", async () => {
    const api = await fakeApi();
    const output: string[] = [];
    const kubelet = fakeKubelet(api, output);
    const work = mkdtempSync(join(tmpdir(), "slt-k8s-run-"));
    try {
      const config = resolveConfig({
        source: "test",
        patch: {
          name: "k8s",
          out: work,
          seed: 3,
          dataset: { name: "digits-3" },
          ga: { population: 20 },
          prune: "none",
          termination: { maxGenerations: 6 },
          cluster: { islands: 2, topology: "ring", interval: 2, migrants: 2 },
        },
      });
      const { logger, records } = captureLogger();
      const launcher = k8sLauncher({
        apiServer: api.url,
        namespace: "slt",
        image: "registry.example.com/slt-islands:0.1.0",
        token: "test-token",
        allowLoopbackJoin: true,
        pollIntervalMs: 50,
        logger,
      });
      const summary = await runCluster(config, { makeEvaluator, launcher, logger }).catch((e: Error) => {
        const logged = records.map((r) => JSON.stringify(r));
        throw new Error(`${e.message}\n${[...output, ...logged].join("\n")}`);
      });
      expect(summary.islands.map((i) => [i.id, i.lost, i.generations > 0])).toEqual([
        [0, false, true],
        [1, false, true],
      ]);
      expect(summary.migrations.sent).toBeGreaterThan(0);
      // each pod got its index from the completion-index annotation and the run token from the Secret,
      // never through its argv
      expect(kubelet.pods.map((p) => p.env.SLT_ISLAND_INDEX)).toEqual(["0", "1"]);
      // and the coordinator's log level (captureLogger's: trace), as local and ssh islands get it
      expect(kubelet.pods.map((p) => p.env.SLT_LOG_LEVEL)).toEqual(["trace", "trace"]);
      const token = kubelet.pods[0].env.SLT_TOKEN;
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      expect(kubelet.pods[1].env.SLT_TOKEN).toBe(token);
      for (const p of kubelet.pods) expect(p.argv.join(" ")).not.toContain(token);
      expect(await Promise.all(kubelet.pods.map((p) => p.exit))).toEqual([0, 0]);
      // the run's objects are gone: Job (with its pods), Service, Secret
      const deletes = api.requests.filter((r) => r.method === "DELETE").map((r) => r.path.split("/").at(-2));
      expect(deletes).toEqual(["jobs", "services", "secrets"]);
    } finally {
      await kubelet.stop();
      await api.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});

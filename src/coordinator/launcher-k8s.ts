// The Kubernetes launcher: islands as the pods of an Indexed Job, with a headless Service for stable
// island DNS names and a Secret holding the run token (k8s-manifests.ts). start() creates the Secret,
// the Service and the Job through the API server (bearer token; the service account's CA for TLS in a
// cluster, plain http for tests); kill() deletes one index's pod; restart(index) waits for the pod the
// Job controller makes again for that index (the Job's backoffLimitPerIndex is the run's maxRestarts);
// close() deletes the Job (propagation Background, so its pods go too), the Service and the Secret. Requests go through node:http(s), not
// fetch: Node's fetch takes no per-request CA without the undici package's Agent.
//
// Handles: pod names are not known until the Job controller makes the pods, so a handle names the
// island's stable DNS name (<job>-<index>.<service>.<namespace>.svc) as its host and has no pid. Its
// `exited` resolves when polling the pods (label selector on the run) sees that index's pod Succeeded
// or Failed, when the island is killed, or when the launcher closes. A restarted island's handle
// ignores the pods of its index that earlier polls saw (the failed pod stays listed beside the new one).
//
// The coordinator hands start() a join URL on its own listen address, which must not be loopback (no
// pod reaches it). Islands may join through another name, e.g. the coordinator's Service: the launcher
// then replaces host and port with `coordinatorHost`/`coordinatorPort`.
//
// The launcher's diagnostics (the Job it started, pods that cannot start, API errors while polling or
// killing, objects it could not delete) are records on the coordinator's logger, with the island's
// launcher `index`, the `pod`, the API `status` and `reason` as fields. Islands' own output stays in
// their pods' logs (kubectl logs); their records reach the coordinator over their link.
import { existsSync, readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { E_CLUSTER, E_CONFIG, SltError } from "../core/errors.ts";
import { type Logger, stderrLogger } from "../io/log.ts";
import {
  DEFAULT_ISLAND_COMMAND,
  INDEX_ANNOTATION,
  INDEX_LABEL,
  type IslandManifestInput,
  type IslandManifests,
  islandManifests,
  RUN_LABEL,
} from "./k8s-manifests.ts";
import type { IslandExit, IslandHandle, Launcher, LaunchOptions } from "./launcher.ts";

/** Where a pod finds its service account (the in-cluster defaults). */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** What the coordinator's service account must be allowed in its namespace (deploy/k8s/rbac.yaml). */
export const K8S_PERMISSIONS: readonly { apiGroup: string; resource: string; verbs: readonly string[] }[] = [
  { apiGroup: "", resource: "secrets", verbs: ["create", "delete"] },
  { apiGroup: "", resource: "services", verbs: ["create", "delete"] },
  { apiGroup: "batch", resource: "jobs", verbs: ["create", "delete"] },
  { apiGroup: "", resource: "pods", verbs: ["list", "deletecollection"] },
];

/** The island pods' settings, passed through to the manifests as they are. */
type PodSettings = Pick<
  IslandManifestInput,
  "namespace" | "image" | "imagePullPolicy" | "resources" | "command" | "islandListen" | "serviceAccountName"
>;

export interface K8sLauncherOptions extends PodSettings {
  /** the API server, e.g. https://10.0.0.1:443 (http:// only for tests and local proxies) */
  readonly apiServer: string;
  /** a bearer token; or */
  readonly token?: string;
  /** a file holding it, read for every request (service-account tokens are rotated in place) */
  readonly tokenFile?: string;
  /** PEM CA bundle that signs the API server's certificate; or */
  readonly ca?: string;
  readonly caFile?: string;
  /** the coordinator's address as islands see it, e.g. slt-coordinator.slt.svc */
  readonly coordinatorHost?: string;
  readonly coordinatorPort?: number;
  /** let islands join a loopback address (only where pods share the coordinator's network: tests) */
  readonly allowLoopbackJoin?: boolean;
  /** how often to look at the island pods (default 5000 ms; 0: never, `exited` then waits for kill/close) */
  readonly pollIntervalMs?: number;
  /** per-request timeout (default 30 s) */
  readonly requestTimeoutMs?: number;
  /** where the launcher's diagnostics go, as records (default: stderr) */
  readonly logger?: Logger;
}

/** An API answer other than 2xx: the status code, the API's reason and message. */
export class K8sApiError extends SltError {
  readonly status: number;
  readonly reason: string | null;
  readonly method: string;
  readonly path: string;

  constructor(method: string, path: string, status: number, reason: string | null, message: string) {
    super(E_CLUSTER, message);
    this.name = "K8sApiError";
    this.status = status;
    this.reason = reason;
    this.method = method;
    this.path = path;
  }
}

interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** A minimal Kubernetes API client: JSON over http(s) with a bearer token and an optional CA. */
export class K8sApi {
  readonly #base: URL;
  readonly #options: K8sLauncherOptions;
  readonly #ca: string | undefined;

  constructor(options: K8sLauncherOptions) {
    let base: URL;
    try {
      base = new URL(options.apiServer);
    } catch {
      throw new SltError(
        E_CONFIG,
        `the Kubernetes API server must be a URL, got ${JSON.stringify(options.apiServer)}`,
      );
    }
    if (base.protocol !== "https:" && base.protocol !== "http:")
      throw new SltError(E_CONFIG, `the Kubernetes API server must be http(s)://, got ${options.apiServer}`);
    this.#base = base;
    this.#options = options;
    this.#ca =
      options.ca ?? (options.caFile ? readText(options.caFile, "the API server's CA file") : undefined);
  }

  #token(): string | undefined {
    if (this.#options.token !== undefined) return this.#options.token;
    if (this.#options.tokenFile) return readText(this.#options.tokenFile, "the API token file").trim();
    return undefined;
  }

  /** Sends one request; resolves with any status, rejects only when the server cannot be reached. */
  request(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    const url = new URL(path, this.#base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), "utf8");
    const headers: Record<string, string> = { accept: "application/json" };
    const token = this.#token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (payload) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(payload.length);
    }
    const timeout = this.#options.requestTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const onResponse = (res: http.IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = text === "" ? null : JSON.parse(text);
          } catch {
            // not JSON (a proxy's error page): keep the text for the message
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      };
      const req =
        url.protocol === "https:"
          ? https.request(url, { method, headers, ...(this.#ca ? { ca: this.#ca } : {}) }, onResponse)
          : http.request(url, { method, headers }, onResponse);
      req.setTimeout(timeout, () =>
        req.destroy(new Error(`no answer from the Kubernetes API within ${timeout} ms`)),
      );
      req.on("error", (e) =>
        reject(
          new SltError(
            E_CLUSTER,
            `cannot reach the Kubernetes API at ${this.#base.origin} (${method} ${path}): ${e.message}`,
          ),
        ),
      );
      req.end(payload);
    });
  }

  /** request() that turns a non-2xx answer into a K8sApiError naming the status and the API's message. */
  async call(
    method: string,
    path: string,
    body?: unknown,
    allow: readonly number[] = [],
  ): Promise<ApiAnswer> {
    const answer = await this.request(method, path, body);
    if ((answer.status >= 200 && answer.status < 300) || allow.includes(answer.status)) return answer;
    throw apiError(method, path, answer, this.#options.namespace);
  }
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new SltError(
      E_CONFIG,
      `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  410: "Gone",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

function apiError(method: string, path: string, answer: ApiAnswer, namespace: string): K8sApiError {
  const b = answer.body as { kind?: unknown; message?: unknown; reason?: unknown } | null;
  const apiMessage =
    b && typeof b === "object" && typeof b.message === "string"
      ? b.message
      : typeof answer.body === "string" && answer.body !== ""
        ? answer.body.slice(0, 300)
        : "(no message)";
  const reason = b && typeof b === "object" && typeof b.reason === "string" ? b.reason : null;
  const hint =
    answer.status === 401
      ? "; the API token is missing, expired or not accepted"
      : answer.status === 403
        ? `; the coordinator's service account needs create/delete on secrets, services and jobs and list/deletecollection on pods in namespace ${namespace} (deploy/k8s/rbac.yaml)`
        : answer.status === 409
          ? "; an object of this run already exists (a leftover of an earlier start?)"
          : "";
  const statusText = STATUS_TEXT[answer.status] ?? "";
  return new K8sApiError(
    method,
    path,
    answer.status,
    reason,
    `the Kubernetes API refused ${method} ${path}: ${answer.status}${statusText ? ` ${statusText}` : ""}: ${apiMessage}${hint}`,
  );
}

/** The join URL the islands get: the coordinator's in-cluster host and port, the same path and run. */
export function islandJoinUrl(joinUrl: string, host?: string, port?: number, allowLoopback = false): string {
  const url = new URL(joinUrl);
  const loopback = (h: string) => h === "localhost" || h === "[::1]" || h.startsWith("127.");
  if (!allowLoopback && loopback(url.hostname))
    throw new SltError(
      E_CONFIG,
      `the coordinator listens on ${url.host}, which no pod can reach: make it listen on its pod address (slt run --listen $(POD_IP):7070, as deploy/k8s/coordinator.yaml does)`,
    );
  if (host) url.hostname = host;
  if (port !== undefined) url.port = String(port);
  if (!allowLoopback && loopback(url.hostname))
    throw new SltError(
      E_CONFIG,
      `islands in pods cannot reach the coordinator at ${url.host}: give the coordinator's in-cluster address (--k8s-coordinator HOST:PORT, e.g. the slt-coordinator Service of deploy/k8s)`,
    );
  return url.toString();
}

interface PodList {
  items?: {
    metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    status?: {
      phase?: string;
      containerStatuses?: {
        state?: {
          terminated?: { exitCode?: number; signal?: number };
          waiting?: { reason?: string; message?: string };
        };
      }[];
    };
  }[];
}

/** Container waiting reasons that do not clear up by themselves. */
const STUCK = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
]);

export function k8sLauncher(options: K8sLauncherOptions): Launcher {
  return new K8sLauncher(options);
}

type Pod = NonNullable<PodList["items"]>[number];

/** The API paths of the objects a run makes, in one namespace. */
function apiPaths(namespace: string) {
  const ns = encodeURIComponent(namespace);
  return {
    secrets: `/api/v1/namespaces/${ns}/secrets`,
    services: `/api/v1/namespaces/${ns}/services`,
    jobs: `/apis/batch/v1/namespaces/${ns}/jobs`,
    pods: `/api/v1/namespaces/${ns}/pods`,
  };
}

/**
 * One run's islands on Kubernetes: the objects it made (deleted again on close or a failed start), the
 * islands still running (their `exited` resolvers) and the poller that watches their pods.
 */
class K8sLauncher implements Launcher {
  readonly name = "k8s";
  readonly #options: K8sLauncherOptions;
  readonly #logger: Logger;
  readonly #api: K8sApi;
  readonly #paths: ReturnType<typeof apiPaths>;
  #manifests: IslandManifests | null = null;
  /** the objects created so far, in creation order */
  readonly #created: { kind: string; path: string }[] = [];
  readonly #ends = new Map<number, (exit: IslandExit) => void>();
  /** the names of the pods polls have seen, by index */
  readonly #seen = new Map<number, Set<string>>();
  /** pods a restarted island's handle does not take for its own (they were there before the restart) */
  readonly #ignored = new Set<string>();
  #poller: NodeJS.Timeout | null = null;
  #polling = false;
  #lastPollError = "";
  readonly #stuck = new Set<string>();
  #closing: Promise<void> | null = null;

  constructor(options: K8sLauncherOptions) {
    this.#options = options;
    this.#logger = options.logger ?? stderrLogger();
    this.#api = new K8sApi(options);
    this.#paths = apiPaths(options.namespace);
  }

  async start(
    n: number,
    joinUrl: string,
    secret: string,
    launch: LaunchOptions = {},
  ): Promise<IslandHandle[]> {
    const options = this.#options;
    if (this.#manifests) throw new SltError(E_CLUSTER, "this k8s launcher has already started islands");
    const url = islandJoinUrl(
      joinUrl,
      options.coordinatorHost,
      options.coordinatorPort,
      options.allowLoopbackJoin,
    );
    const runId = new URL(joinUrl).searchParams.get("run");
    if (!runId) throw new SltError(E_CLUSTER, `the join URL has no run id: ${joinUrl}`);
    const m = islandManifests({
      runId,
      // islands log at the coordinator's level, as with the local and ssh launchers
      logLevel: this.#logger.level,
      namespace: options.namespace,
      islands: n,
      joinUrl: url,
      secret,
      ...(launch.tlsPin !== undefined ? { tlsPin: launch.tlsPin } : {}),
      image: options.image,
      imagePullPolicy: options.imagePullPolicy,
      resources: options.resources,
      command: options.command ?? DEFAULT_ISLAND_COMMAND,
      islandListen: options.islandListen,
      serviceAccountName: options.serviceAccountName,
      maxRestarts: launch.maxRestarts ?? 0,
    });
    this.#manifests = m;
    await this.#create(m);
    this.#logger.info(
      { islands: n, namespace: options.namespace, job: m.names.job, service: m.names.service, join: url },
      "islands started as a Job",
    );
    const handles = Array.from({ length: n }, (_, index) => this.#handle(m, index));
    this.#startPolling();
    return handles;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#poller) clearInterval(this.#poller);
      this.#poller = null;
      await this.#deleteAll();
      for (const index of [...this.#ends.keys()]) this.#finish(index, { code: null, signal: "SIGKILL" });
    })();
    return this.#closing;
  }

  /** Creates the Secret, the Service and the Job; on a refusal deletes what it made and rethrows. */
  async #create(m: IslandManifests): Promise<void> {
    const steps: [string, string, object, string][] = [
      ["Secret", this.#paths.secrets, m.secret, m.names.secret],
      ["Service", this.#paths.services, m.service, m.names.service],
      ["Job", this.#paths.jobs, m.job, m.names.job],
    ];
    try {
      for (const [kind, path, object, name] of steps) {
        await this.#api.call("POST", path, object);
        this.#created.push({ kind, path: `${path}/${encodeURIComponent(name)}` });
      }
    } catch (e) {
      // leave nothing behind: what was made before the refusal is deleted again
      await this.#deleteAll();
      throw e;
    }
  }

  /**
   * Island `index` again: the Job controller makes its pod anew after a failure or a kill (up to the
   * Job's backoffLimitPerIndex); the new handle follows that pod, not the ones seen before.
   */
  async restart(index: number): Promise<IslandHandle> {
    const m = this.#manifests;
    if (m === null || this.#closing || index >= (m.job.spec?.completions ?? 0))
      throw new SltError(
        E_CLUSTER,
        `the k8s launcher did not start island ${index}, so it cannot restart it`,
      );
    for (const name of this.#seen.get(index) ?? []) this.#ignored.add(name);
    this.#finish(index, { code: null, signal: null }); // an earlier handle of this index is done with
    const handle = this.#handle(m, index);
    this.#startPolling(); // polling stops when no island is left to watch
    return handle;
  }

  #startPolling(): void {
    const every = this.#options.pollIntervalMs ?? 5000;
    if (this.#poller !== null || every <= 0) return;
    this.#poller = setInterval(() => void this.#poll(), every);
    this.#poller.unref();
  }

  #handle(m: IslandManifests, index: number): IslandHandle {
    const exited = new Promise<IslandExit>((done) => this.#ends.set(index, done));
    return {
      index,
      host: `${m.names.job}-${index}.${m.names.service}.${this.#options.namespace}.svc`,
      pid: null,
      exited,
      setLabel() {
        // island output goes to the pod's log (kubectl logs), not through the coordinator
      },
      kill: () => this.#kill(index),
    };
  }

  /** Deletes the island's pod at once (grace period 0); its `exited` resolves when the API has done so. */
  #kill(index: number): void {
    const end = this.#ends.get(index);
    if (end === undefined || this.#closing) return;
    const selector = `${this.#runSelector()},${INDEX_LABEL}=${index}`;
    void this.#api
      .call(
        "DELETE",
        `${this.#paths.pods}?labelSelector=${encodeURIComponent(selector)}&gracePeriodSeconds=0`,
      )
      .then(
        // the handle killed, not one a restart made meanwhile
        () => {
          if (this.#ends.get(index) === end) this.#finish(index, { code: null, signal: "SIGKILL" });
        },
        (e: Error) => this.#logger.error({ index, ...apiFields(e) }, "could not kill island"),
      );
  }

  #finish(index: number, exit: IslandExit): void {
    const end = this.#ends.get(index);
    if (!end) return;
    this.#ends.delete(index);
    end(exit);
  }

  #runSelector(): string {
    return `${RUN_LABEL}=${(this.#manifests as IslandManifests).labels[RUN_LABEL]}`;
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#ends.size === 0) return;
    this.#polling = true;
    try {
      const answer = await this.#api.call(
        "GET",
        `${this.#paths.pods}?labelSelector=${encodeURIComponent(this.#runSelector())}`,
      );
      this.#lastPollError = "";
      for (const pod of (answer.body as PodList).items ?? []) this.#notePod(pod);
    } catch (e) {
      // said once until the answer changes: a poll every few seconds would repeat it
      const text = (e as Error).message;
      if (text !== this.#lastPollError) this.#logger.warn(apiFields(e as Error), "cannot list island pods");
      this.#lastPollError = text;
    } finally {
      this.#polling = false;
    }
    if (this.#ends.size === 0 && this.#poller) {
      clearInterval(this.#poller);
      this.#poller = null;
    }
  }

  /** One pod as a poll sees it: stuck (said once), or ended (its island's `exited` resolves). */
  #notePod(pod: Pod): void {
    const phase = pod.status?.phase;
    const name = pod.metadata?.name ?? "";
    const text = pod.metadata?.labels?.[INDEX_LABEL] ?? pod.metadata?.annotations?.[INDEX_ANNOTATION];
    const index = text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
    const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
    if (waiting?.reason && STUCK.has(waiting.reason)) {
      // a pod that will not start on its own (a wrong image, a missing Secret): say so once
      const key = `${name} ${waiting.reason}`;
      if (!this.#stuck.has(key))
        this.#logger.error(
          { index, pod: name, code: waiting.reason, reason: waiting.message ?? "" },
          "island pod cannot start",
        );
      this.#stuck.add(key);
    }
    if (index === undefined) return;
    const seen = this.#seen.get(index) ?? new Set<string>();
    this.#seen.set(index, seen.add(name));
    if (phase !== "Succeeded" && phase !== "Failed") return;
    if (this.#ignored.has(name)) return;
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    this.#finish(index, {
      code: terminated?.exitCode ?? (phase === "Succeeded" ? 0 : null),
      signal: null,
    });
  }

  /** Deletes the run's objects, newest first; what it cannot delete is logged for deletion by hand. */
  async #deleteAll(): Promise<void> {
    for (const { kind, path } of [...this.#created].reverse()) {
      const body =
        kind === "Job"
          ? { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Background" }
          : undefined;
      try {
        await this.#api.call("DELETE", path, body, [404]);
      } catch (e) {
        this.#logger.error(
          { kind, path, ...apiFields(e as Error) },
          "could not delete; delete it by hand (kubectl delete)",
        );
      }
    }
    this.#created.length = 0;
  }
}

/** A failed API call as record fields: the HTTP status and the API's reason where it answered. */
function apiFields(e: Error): Record<string, unknown> {
  return e instanceof K8sApiError
    ? { status: e.status, code: e.reason ?? undefined, reason: e.message }
    : { reason: e.message };
}

export interface K8sCliFlags {
  readonly k8sApi?: string;
  readonly k8sNamespace?: string;
  readonly k8sImage?: string;
  readonly k8sTokenFile?: string;
  readonly k8sCaFile?: string;
  readonly k8sCoordinator?: string;
}

/**
 * Launcher options from `slt run --launcher k8s` flags, falling back to the environment
 * (SLT_K8S_IMAGE, SLT_K8S_COORDINATOR) and the in-cluster service account.
 */
export function k8sOptionsFromFlags(
  flags: K8sCliFlags,
  env: NodeJS.ProcessEnv = process.env,
  saDir: string = SERVICE_ACCOUNT_DIR,
  exists: (path: string) => boolean = fileExists,
): K8sLauncherOptions {
  let apiServer = flags.k8sApi;
  if (!apiServer && env.KUBERNETES_SERVICE_HOST) {
    const host = env.KUBERNETES_SERVICE_HOST;
    apiServer = `https://${host.includes(":") ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? "443"}`;
  }
  if (!apiServer)
    throw new SltError(
      E_CONFIG,
      "--launcher k8s needs the API server: --k8s-api URL, or run in a pod (KUBERNETES_SERVICE_HOST)",
    );
  const saFile = (name: string) => (exists(`${saDir}/${name}`) ? `${saDir}/${name}` : undefined);
  const namespaceFile = saFile("namespace");
  const namespace =
    flags.k8sNamespace ?? (namespaceFile ? readText(namespaceFile, "the namespace file").trim() : "default");
  const image = flags.k8sImage ?? env.SLT_K8S_IMAGE;
  if (!image)
    throw new SltError(E_CONFIG, "--launcher k8s needs the island image: --k8s-image IMAGE or SLT_K8S_IMAGE");
  const coordinator = flags.k8sCoordinator ?? env.SLT_K8S_COORDINATOR;
  let coordinatorHost: string | undefined;
  let coordinatorPort: number | undefined;
  if (coordinator) {
    const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(coordinator);
    if (!match)
      throw new SltError(
        E_CONFIG,
        `--k8s-coordinator must be HOST[:PORT], got ${JSON.stringify(coordinator)}`,
      );
    coordinatorHost = match[1];
    coordinatorPort = match[2] === undefined ? undefined : Number(match[2]);
  }
  return {
    apiServer,
    namespace,
    image,
    tokenFile: flags.k8sTokenFile ?? saFile("token"),
    caFile: flags.k8sCaFile ?? (apiServer.startsWith("https:") ? saFile("ca.crt") : undefined),
    coordinatorHost,
    coordinatorPort,
  };
}

function fileExists(path: string): boolean {
  return existsSync(path);
}

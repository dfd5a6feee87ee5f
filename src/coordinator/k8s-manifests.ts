// Kubernetes objects for one run's islands, made from plain values (no I/O): a Secret holding the run
// token, a headless Service giving every island pod a stable DNS name
// (<job>-<index>.<service>.<namespace>.svc), and an Indexed Job whose pod i runs
// `node src/island/main.ts --join URL --listen auto` with SLT_ISLAND_INDEX = its completion index and
// SLT_TOKEN taken from the Secret (never argv, never a plain env value). The k8s launcher submits
// these; tests validate them against the Kubernetes API schema.
//
// Restarts: an island pod that fails (its process ended, or the coordinator deleted it as lost) is
// made again by the Job controller for the same index, up to `backoffLimitPerIndex` = the run's
// cluster.maxRestarts times (with the controller's own backoff, 10 s doubling); the new pod joins with
// the same index and the coordinator gives it the lost island's id and latest snapshot. The same bound
// keeps island pods from restarting forever into a coordinator that is gone: each new pod fails to
// join and ends, and after maxRestarts failures the index is failed for good.

// The API's own object types (kubernetes-models, a development dependency: type-only imports are
// erased, so nothing of it is loaded at run time): tsc then refuses a misspelt or misplaced field here.
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { ISecret } from "kubernetes-models/v1/Secret";
import type { IService } from "kubernetes-models/v1/Service";

/** The label every object of a run carries (value: the run id). */
export const RUN_LABEL = "slt-islands/run";
/** The label the Job controller puts on an Indexed Job's pods (Kubernetes ≥ 1.28). */
export const INDEX_LABEL = "batch.kubernetes.io/job-completion-index";
/** The annotation the Job controller always puts on an Indexed Job's pods. */
export const INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index";
/** The key of the run token in the Secret. */
export const TOKEN_KEY = "token";
/** The non-root user and group of the image (deploy/Dockerfile). */
export const IMAGE_UID = 10001;

export interface K8sResources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

export const DEFAULT_RESOURCES: K8sResources = {
  requests: { cpu: "1", memory: "512Mi" },
  limits: { cpu: "2", memory: "2Gi" },
};

export interface IslandManifestInput {
  readonly runId: string;
  /** the islands' log level (SLT_LOG_LEVEL; default: the island's own, info) */
  readonly logLevel?: string;
  readonly namespace: string;
  readonly islands: number;
  /** the URL islands join, already pointing at the coordinator's in-cluster address */
  readonly joinUrl: string;
  /** the run secret; only ever placed in the Secret */
  readonly secret: string;
  /** a wss:// run: the coordinator certificate's pin, a plain env value SLT_TLS_PIN (it is public) */
  readonly tlsPin?: string;
  readonly image: string;
  readonly imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  readonly resources?: K8sResources;
  /** the island command before `--join URL` (default: node src/island/main.ts, run in /app) */
  readonly command?: readonly string[];
  /**
   * the address islands' peer servers bind to and advertise (`--listen`; default "auto": the pod's
   * address on the interface toward the coordinator, which other pods reach)
   */
  readonly islandListen?: string;
  /** the Job is removed this long after it finishes, if the launcher did not delete it (default 1 day) */
  readonly ttlSecondsAfterFinished?: number;
  /** a service account for the island pods (default: the namespace's default, token not mounted) */
  readonly serviceAccountName?: string;
  /** how often the Job controller may make a failed island's pod again (cluster.maxRestarts; default 0) */
  readonly maxRestarts?: number;
}

export interface IslandManifests {
  readonly names: { readonly job: string; readonly service: string; readonly secret: string };
  readonly labels: Readonly<Record<string, string>>;
  readonly secret: ISecret;
  readonly service: IService;
  readonly job: IJob;
}

export const DEFAULT_ISLAND_COMMAND: readonly string[] = ["node", "src/island/main.ts"];

/** A DNS-1123 label made from `text` (lowercase alphanumerics and '-', at most `max` characters). */
export function dnsLabel(text: string, max = 63): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .slice(0, max)
    .replace(/^-+|-+$/g, "");
  if (s === "") throw new Error(`cannot make a Kubernetes name from ${JSON.stringify(text)}`);
  return s;
}

/** A label value (alphanumerics, '-', '_', '.', at most 63, alphanumeric at both ends). */
function labelValue(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}

/** The names of a run's objects. The Job name leaves room for "-<index>" in pod host names (≤ 63). */
export function islandObjectNames(runId: string): IslandManifests["names"] {
  const base = `slt-${dnsLabel(runId, 40)}`.replace(/-+$/, "");
  return { job: base, service: base, secret: `${base}-token` };
}

export function islandManifests(input: IslandManifestInput): IslandManifests {
  const { runId, namespace, islands, secret, image } = input;
  if (!Number.isInteger(islands) || islands < 1)
    throw new Error(`islands must be an integer ≥ 1, got ${islands}`);
  if (!image) throw new Error("an island container image is required");
  if (secret.length === 0) throw new Error("the run secret is empty");
  const names = islandObjectNames(runId);
  const labels: Record<string, string> = {
    "app.kubernetes.io/name": "slt-islands",
    "app.kubernetes.io/component": "island",
    "app.kubernetes.io/managed-by": "slt-coordinator",
    [RUN_LABEL]: labelValue(runId),
  };
  const meta = (name: string) => ({ name, namespace, labels: { ...labels } });

  const secretObject: ISecret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(names.secret),
    type: "Opaque",
    immutable: true,
    data: { [TOKEN_KEY]: Buffer.from(secret, "utf8").toString("base64") },
  };

  const service: IService = {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(names.service),
    spec: {
      clusterIP: "None",
      selector: { ...labels },
      // islands have no readiness probe; their names resolve as soon as the pods have addresses. No
      // ports: island peer servers listen on a free port each and tell their address to the coordinator
      publishNotReadyAddresses: true,
    },
  };

  const job: IJob = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta(names.job),
    spec: {
      completionMode: "Indexed",
      completions: islands,
      parallelism: islands,
      // a failed island's pod is made again up to maxRestarts times (the coordinator restarts the
      // island in it), and never fails the other indexes; past that the coordinator repairs the
      // topology around it (maxFailedIndexes left unset: the Job runs all its indexes whatever fails)
      backoffLimitPerIndex: input.maxRestarts ?? 0,
      ttlSecondsAfterFinished: input.ttlSecondsAfterFinished ?? 86_400,
      template: { metadata: { labels: { ...labels } }, spec: islandPodSpec(input, names) },
    },
  };

  return { names, labels, secret: secretObject, service, job };
}

type PodSpec = NonNullable<NonNullable<IJob["spec"]>["template"]["spec"]>;

/** The island pod: non-root, no service-account token, one island container (`islandContainer`). */
function islandPodSpec(input: IslandManifestInput, names: IslandManifests["names"]): PodSpec {
  return {
    restartPolicy: "Never",
    subdomain: names.service,
    ...(input.serviceAccountName ? { serviceAccountName: input.serviceAccountName } : {}),
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: IMAGE_UID,
      runAsGroup: IMAGE_UID,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers: [islandContainer(input, names)],
    volumes: [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }],
  };
}

/** The island's container: its command and join URL, its index and token from the API, its limits. */
function islandContainer(
  input: IslandManifestInput,
  names: IslandManifests["names"],
): PodSpec["containers"][number] {
  const resources = input.resources ?? DEFAULT_RESOURCES;
  return {
    name: "island",
    image: input.image,
    ...(input.imagePullPolicy ? { imagePullPolicy: input.imagePullPolicy } : {}),
    workingDir: "/app",
    command: [
      ...(input.command ?? DEFAULT_ISLAND_COMMAND),
      "--join",
      input.joinUrl,
      "--listen",
      input.islandListen ?? "auto",
    ],
    env: [
      {
        name: "SLT_ISLAND_INDEX",
        valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${INDEX_ANNOTATION}']` } },
      },
      { name: "SLT_TOKEN", valueFrom: { secretKeyRef: { name: names.secret, key: TOKEN_KEY } } },
      ...(input.logLevel ? [{ name: "SLT_LOG_LEVEL", value: input.logLevel }] : []),
      ...(input.tlsPin ? [{ name: "SLT_TLS_PIN", value: input.tlsPin }] : []),
    ],
    resources: {
      requests: { ...resources.requests },
      limits: { ...resources.limits },
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
  };
}

import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { E_CHECKPOINT, SltError } from "../../src/core/errors.ts";
import {
  CHECKPOINT_WRITE_STAGES,
  type CheckpointWriteStage,
  checkCheckpointBytes,
  checkpointFiles,
  jsonPieces,
  parseFaultSpec,
  readCheckpoint,
  writeCheckpoint,
} from "../../src/io/checkpoint-store.ts";
import { sampleCheckpoint } from "./fixtures/checkpoint-sample.ts";

const WRITER = resolve(import.meta.dirname, "fixtures/checkpoint-writer.ts");
const root = mkdtempSync(join(tmpdir(), "slt-checkpoint-"));
// the child of the read-only test runs as nobody when the tests run as root: it must reach the folders
chmodSync(root, 0o755);
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
function freshDir(): string {
  const dir = join(root, `d${dirs++}`);
  mkdirSync(dir);
  return dir;
}

async function errorOf(p: Promise<unknown>): Promise<SltError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SltError);
    expect((e as SltError).code).toBe(E_CHECKPOINT);
    return e as SltError;
  }
  throw new Error("expected an E_CHECKPOINT error");
}

const temporaries = (dir: string) => readdirSync(dir).filter((f) => f.includes(".tmp-"));

/** The bytes of checkpoint.json after writing checkpoint 1, and after writing checkpoint 2, without faults. */
async function referenceFiles(): Promise<{ one: Buffer; two: Buffer }> {
  const dir = freshDir();
  const files = checkpointFiles(dir);
  await writeCheckpoint(dir, sampleCheckpoint(1), { fault: null });
  const one = readFileSync(files.current);
  await writeCheckpoint(dir, sampleCheckpoint(2), { fault: null });
  return { one, two: readFileSync(files.current) };
}

describe("writeCheckpoint and readCheckpoint", () => {
  it("write a one-line JSON file with format tag, body, byte count and sha256, and read the value back", async () => {
    const dir = freshDir();
    const value = sampleCheckpoint(1, 2, 30);
    const w = await writeCheckpoint(dir, value, { fault: null });
    expect(w.file).toBe(join(dir, "checkpoint.json"));
    const text = readFileSync(w.file, "utf8");
    expect(text.endsWith("}\n")).toBe(true);
    expect(text.slice(0, -1)).not.toContain("\n");
    const file = JSON.parse(text);
    expect(Object.keys(file)).toEqual(["format", "body", "bytes", "sha256"]);
    expect(file).toMatchObject({
      format: "slt-checkpoint-file/1",
      body: value,
      bytes: w.bytes,
      sha256: w.sha256,
    });
    expect(w.bytes).toBe(Buffer.byteLength(JSON.stringify(value)));
    const r = await readCheckpoint(dir);
    expect(r).toEqual({ value, file: w.file, warning: null, bytes: w.bytes, sha256: w.sha256 });
    expect(temporaries(dir)).toEqual([]);
  });

  it("keep the checkpoint they replace, bit for bit, as checkpoint.prev.json", async () => {
    const dir = freshDir();
    const files = checkpointFiles(dir);
    await writeCheckpoint(dir, { n: 1 }, { fault: null });
    const first = readFileSync(files.current);
    await writeCheckpoint(dir, { n: 2 }, { fault: null });
    expect(readFileSync(files.previous)).toEqual(first);
    expect((await readCheckpoint(dir)).value).toEqual({ n: 2 });
    await writeCheckpoint(dir, { n: 3 }, { fault: null });
    expect(JSON.parse(readFileSync(files.previous, "utf8")).body).toEqual({ n: 2 });
  });

  it("give the same file whatever the chunk size", async () => {
    const value = sampleCheckpoint(3, 2, 50);
    const a = freshDir();
    const b = freshDir();
    await writeCheckpoint(a, value, { fault: null });
    await writeCheckpoint(b, value, { fault: null, chunkBytes: 7 });
    expect(readFileSync(checkpointFiles(b).current)).toEqual(readFileSync(checkpointFiles(a).current));
  });

  it("use other file names with `name`", async () => {
    const dir = freshDir();
    await writeCheckpoint(dir, [1, 2], { name: "island-3", fault: null });
    expect(readdirSync(dir)).toEqual(["island-3.json"]);
    expect((await readCheckpoint(dir, { name: "island-3" })).value).toEqual([1, 2]);
  });

  it("remove a temporary file a killed write left behind", async () => {
    const dir = freshDir();
    writeFileSync(join(dir, "checkpoint.json.tmp-999999"), "half");
    writeFileSync(join(dir, "other.json.tmp-1"), "not ours");
    await writeCheckpoint(dir, { ok: true }, { fault: null });
    expect(readdirSync(dir).sort()).toEqual(["checkpoint.json", "other.json.tmp-1"]);
  });

  it("refuse a second write to the same files while one is in progress", async () => {
    const dir = freshDir();
    const first = writeCheckpoint(dir, sampleCheckpoint(1, 2, 50), { fault: null });
    const e = await errorOf(writeCheckpoint(dir, { n: 2 }, { fault: null }));
    expect(e.message).toContain("another write to it is in progress");
    await first;
    expect((await readCheckpoint(dir)).value).toEqual(sampleCheckpoint(1, 2, 50));
  });

  it("refuse a value with no JSON text, keeping the previous checkpoint", async () => {
    const dir = freshDir();
    await writeCheckpoint(dir, { n: 1 }, { fault: null });
    const e = await errorOf(writeCheckpoint(dir, undefined, { fault: null }));
    expect(e.message).toMatch(/not a JSON value/);
    expect((await readCheckpoint(dir)).value).toEqual({ n: 1 });
    expect(temporaries(dir)).toEqual([]);
  });
});

describe("jsonPieces", () => {
  const sameAsStringify = (value: unknown, depth?: number): void => {
    expect([...jsonPieces(value, depth)].join("")).toBe(JSON.stringify(value));
  };

  it("concatenate to JSON.stringify's text for any JSON value and depth", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 8 }), (value, depth) =>
        sameAsStringify(value, depth),
      ),
    );
  });

  it("follow JSON.stringify for undefined members, holes, functions, toJSON and -0", () => {
    sameAsStringify({
      a: undefined,
      b: () => 1,
      c: [undefined, () => 1, Symbol("s")],
      d: new Date(0),
      e: -0,
    });
    // biome-ignore lint/suspicious/noSparseArray: a hole is what this checks
    sameAsStringify([1, , 3]);
    sameAsStringify(Object.assign(Object.create(null), { x: 1 }));
    sameAsStringify({ toJSON: () => ({ replaced: true }) });
    sameAsStringify({ 'quote"key': "line\nbreak", é: "✓" });
  });
});

describe("a damaged checkpoint", () => {
  async function twoCheckpoints(): Promise<{ dir: string; current: string; previous: string }> {
    const dir = freshDir();
    await writeCheckpoint(dir, { n: 1 }, { fault: null });
    await writeCheckpoint(dir, { n: 2, text: "two" }, { fault: null });
    return { dir, ...checkpointFiles(dir) };
  }

  it("truncated: the previous one is used, and the warning says which file and what is wrong", async () => {
    const { dir, current, previous } = await twoCheckpoints();
    const bytes = readFileSync(current);
    writeFileSync(current, bytes.subarray(0, bytes.length - 30));
    const r = await readCheckpoint(dir);
    expect(r.value).toEqual({ n: 1 });
    expect(r.file).toBe(previous);
    expect(r.warning).toBe(
      `checkpoint ${current} is not usable: truncated or damaged: ${bytes.length - 30} bytes, and its end is not the byte count and sha256 that close a checkpoint; using the previous one, ${previous}`,
    );
    expect(r.warning).not.toContain("\n");
  });

  it("a flipped byte in the body: checksum mismatch", async () => {
    const { dir, current } = await twoCheckpoints();
    const bytes = readFileSync(current);
    const at = bytes.indexOf("two");
    bytes[at] ^= 0x01;
    writeFileSync(current, bytes);
    const r = await readCheckpoint(dir);
    expect(r.value).toEqual({ n: 1 });
    expect(r.warning).toMatch(
      /checkpoint\.json is not usable: checksum mismatch: the body's sha256 is [0-9a-f]{12}…, the file records [0-9a-f]{12}…; using the previous one/,
    );
  });

  it("a wrong format tag, an empty file, another kind of file, a wrong byte count", () => {
    const good = Buffer.from(
      `{"format":"slt-checkpoint-file/1","body":{"a":1},"bytes":7,"sha256":"${"0".repeat(64)}"}\n`,
    );
    expect(checkCheckpointBytes(Buffer.from(good.toString().replace("file/1", "file/2")))).toEqual({
      ok: false,
      problem: 'format tag "slt-checkpoint-file/2" is not "slt-checkpoint-file/1"',
    });
    expect(checkCheckpointBytes(Buffer.alloc(0))).toEqual({ ok: false, problem: "empty (0 bytes)" });
    expect(checkCheckpointBytes(Buffer.from('{"format":"slt-ch'))).toEqual({
      ok: false,
      problem: "truncated: 17 bytes, cut inside the format tag",
    });
    expect(checkCheckpointBytes(Buffer.from('{\n  "format": "slt-ga/1"\n}\n'))).toEqual({
      ok: false,
      problem: 'not a checkpoint file: it does not start with the format tag "slt-checkpoint-file/1"',
    });
    expect(checkCheckpointBytes(Buffer.from(good.toString().replace('"bytes":7', '"bytes":8')))).toEqual({
      ok: false,
      problem: "the body is 7 bytes, the file records 8",
    });
  });

  it("a torn checkpoint.json is not promoted over a good previous one by the next write", async () => {
    const { dir, current, previous } = await twoCheckpoints();
    const bytes = readFileSync(current);
    writeFileSync(current, bytes.subarray(0, bytes.length - 30)); // torn: power lost mid-write
    const goodPrevious = readFileSync(previous);
    await writeCheckpoint(dir, { n: 3 }, { fault: null });
    expect(readFileSync(previous)).toEqual(goodPrevious); // still checkpoint 1, valid
    expect((await readCheckpoint(dir)).value).toEqual({ n: 3 });
    rmSync(current);
    expect((await readCheckpoint(dir)).value).toEqual({ n: 1 });
  });

  it("checkpoint.json missing (deleted by hand): the previous one, with a warning", async () => {
    const { dir, current, previous } = await twoCheckpoints();
    rmSync(current);
    const r = await readCheckpoint(dir);
    expect(r.value).toEqual({ n: 1 });
    expect(r.warning).toBe(`checkpoint ${current} is missing; using the previous one, ${previous}`);
  });

  it("a sound file whose value `validate` refuses counts as not valid", async () => {
    const { dir, current } = await twoCheckpoints();
    const validate = (v: unknown) =>
      (v as { n: number }).n === 2 ? "invalid run checkpoint: n: too new" : null;
    const r = await readCheckpoint(dir, { validate });
    expect(r.value).toEqual({ n: 1 });
    expect(r.warning).toBe(
      `checkpoint ${current} is not usable: invalid run checkpoint: n: too new; using the previous one, ${join(dir, "checkpoint.prev.json")}`,
    );
    const e = await errorOf(readCheckpoint(dir, { validate: () => "no" }));
    expect(e.message).toBe(
      `no valid checkpoint in ${dir}: ${current}: no; ${join(dir, "checkpoint.prev.json")}: no`,
    );
    expect((await readCheckpoint(dir, { validate: () => null })).value).toEqual({ n: 2, text: "two" });
  });

  it("neither file valid: E_CHECKPOINT naming both files and what is wrong with each", async () => {
    const { dir, current, previous } = await twoCheckpoints();
    writeFileSync(current, "");
    writeFileSync(
      previous,
      readFileSync(previous).toString().replace("slt-checkpoint-file/1", "slt-checkpoint-file/0"),
    );
    const e = await errorOf(readCheckpoint(dir));
    expect(e.message).toBe(
      `no valid checkpoint in ${dir}: ${current}: empty (0 bytes); ${previous}: format tag "slt-checkpoint-file/0" is not "slt-checkpoint-file/1"`,
    );
    const empty = freshDir();
    expect((await errorOf(readCheckpoint(empty))).message).toBe(
      `no valid checkpoint in ${empty}: ${join(empty, "checkpoint.json")}: missing; ${join(empty, "checkpoint.prev.json")}: missing`,
    );
  });
});

describe("a write that fails (full disk, no permission)", () => {
  it.each(CHECKPOINT_WRITE_STAGES.filter((s) => s !== "after-rename"))(
    "ENOSPC at %s: E_CHECKPOINT, the previous checkpoint intact bit for bit, no temporary file left",
    async (stage) => {
      const dir = freshDir();
      const files = checkpointFiles(dir);
      await writeCheckpoint(dir, sampleCheckpoint(1, 2, 40), { fault: null });
      const before = readFileSync(files.current);
      const e = await errorOf(
        writeCheckpoint(dir, sampleCheckpoint(2, 2, 40), { fault: `checkpoint-write:${stage}:ENOSPC` }),
      );
      expect(e.message).toBe(
        `cannot write checkpoint ${files.current}: no space left on the device (ENOSPC); the previous checkpoint is kept`,
      );
      expect(readFileSync(files.current)).toEqual(before);
      expect(temporaries(dir)).toEqual([]);
      expect((await readCheckpoint(dir)).warning).toBeNull();
    },
  );

  it("EACCES on the first write: says there is no previous checkpoint, and leaves nothing behind", async () => {
    const dir = freshDir();
    const e = await errorOf(
      writeCheckpoint(dir, { n: 1 }, { fault: "checkpoint-write:before-rename:EACCES" }),
    );
    expect(e.message).toBe(
      `cannot write checkpoint ${join(dir, "checkpoint.json")}: permission denied (the run directory is not writable) (EACCES); there is no previous checkpoint`,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it("an error after the rename says the new checkpoint is in place", async () => {
    const dir = freshDir();
    await writeCheckpoint(dir, { n: 1 }, { fault: null });
    const e = await errorOf(writeCheckpoint(dir, { n: 2 }, { fault: "checkpoint-write:after-rename:EIO" }));
    expect(e.message).toMatch(
      /input\/output error \(EIO\); the new checkpoint is in place but may not be durable$/,
    );
    expect((await readCheckpoint(dir)).value).toEqual({ n: 2 });
  });

  it("a missing run directory", async () => {
    const dir = join(root, "no-such-dir");
    const e = await errorOf(writeCheckpoint(dir, { n: 1 }, { fault: null }));
    expect(e.message).toBe(
      `cannot write checkpoint ${join(dir, "checkpoint.json")}: the run directory does not exist (ENOENT); there is no previous checkpoint`,
    );
  });

  it("a read-only run directory (a real one, written by a process that may not write there)", async () => {
    const dir = freshDir();
    const files = checkpointFiles(dir);
    await writeCheckpoint(dir, sampleCheckpoint(1), { fault: null });
    const before = readFileSync(files.current);
    chmodSync(dir, 0o555);
    // root may write anywhere: then the writer runs as nobody
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = spawnSync(process.execPath, [WRITER, dir, "1"], {
      encoding: "utf8",
      env: { ...process.env, SLT_TEST_FAULT: "" },
      ...asNobody,
    });
    chmodSync(dir, 0o755);
    expect(r.stderr).toBe(
      `cannot write checkpoint ${files.current}: permission denied (the run directory is not writable) (EACCES); the previous checkpoint is kept\n`,
    );
    expect(r.status).toBe(1);
    expect(readFileSync(files.current)).toEqual(before);
  });
});

describe("SLT_TEST_FAULT (test only)", () => {
  it("parses checkpoint-write:<stage>[:<ERRNO>][@<n>] among other entries", () => {
    expect(parseFaultSpec(undefined)).toBeNull();
    expect(parseFaultSpec("")).toBeNull();
    expect(parseFaultSpec("island-exit:3")).toBeNull();
    expect(parseFaultSpec("checkpoint-write:before-rename")).toEqual({
      stage: "before-rename",
      errno: null,
      write: 1,
    });
    expect(parseFaultSpec("x:y, checkpoint-write:tmp-half-written:ENOSPC@2")).toEqual({
      stage: "tmp-half-written",
      errno: "ENOSPC",
      write: 2,
    });
    for (const bad of ["checkpoint-write:sometime", "checkpoint-write:after-rename@0", "checkpoint-write:"]) {
      const e = (() => {
        try {
          parseFaultSpec(bad);
        } catch (x) {
          return x as SltError;
        }
      })();
      expect(e?.code).toBe(E_CHECKPOINT);
      expect(e?.message).toContain("tmp-half-written, before-rename, between-renames, after-rename");
    }
  });

  it("a malformed spec fails the write, and the next write goes through", async () => {
    const dir = freshDir();
    const e = await errorOf(writeCheckpoint(dir, { n: 1 }, { fault: "checkpoint-write:later" }));
    expect(e.message).toMatch(/^SLT_TEST_FAULT: "checkpoint-write:later" is not/);
    await writeCheckpoint(dir, { n: 1 }, { fault: null });
    expect((await readCheckpoint(dir)).value).toEqual({ n: 1 });
  });

  const expected: Record<CheckpointWriteStage, { from: "current" | "previous"; holds: "one" | "two" }> = {
    "tmp-half-written": { from: "current", holds: "one" },
    "before-rename": { from: "current", holds: "one" },
    // checkpoint.json is never missing: it still holds the first checkpoint (and so does prev)
    "between-renames": { from: "current", holds: "one" },
    "after-rename": { from: "current", holds: "two" },
  };

  it.each(CHECKPOINT_WRITE_STAGES)(
    "a process killed at %s of its second write leaves a valid checkpoint, bit for bit",
    async (stage) => {
      const reference = await referenceFiles();
      const dir = freshDir();
      const files = checkpointFiles(dir);
      const r = spawnSync(process.execPath, [WRITER, dir], {
        encoding: "utf8",
        env: { ...process.env, SLT_TEST_FAULT: `checkpoint-write:${stage}@2` },
      });
      expect(r.signal).toBe("SIGKILL");
      const want = expected[stage];
      const read = await readCheckpoint(dir);
      expect(read.file).toBe(want.from === "current" ? files.current : files.previous);
      expect(readFileSync(read.file)).toEqual(reference[want.holds]);
      expect(read.value).toEqual(sampleCheckpoint(want.holds === "one" ? 1 : 2));
      expect(read.warning === null).toBe(want.from === "current");
      if (stage === "tmp-half-written") {
        const [tmp] = temporaries(dir);
        const torn = readFileSync(join(dir, tmp));
        expect(torn.length).toBeGreaterThan(100);
        expect(torn.length).toBeLessThan(reference.two.length);
        expect(checkCheckpointBytes(torn).ok).toBe(false);
      }
      // the next write goes through and clears what the killed one left
      await writeCheckpoint(dir, { after: stage }, { fault: null });
      expect((await readCheckpoint(dir)).value).toEqual({ after: stage });
      expect(temporaries(dir)).toEqual([]);
    },
  );
});

// Dataset shapes shared by the generators, the CSV parser and the evaluators.

/** One split: n rows of `features` Float32 values, row-major, and an integer label per row. */
export interface Split {
  readonly n: number;
  readonly features: number;
  readonly x: Float32Array;
  readonly y: Int32Array;
}

/** What a dataset is, enough to rebuild it: recorded in config.json and in every ticket. */
export interface DatasetDescription {
  /** e.g. "moons", "circles", "blobs-3", "digits-10", "csv" */
  readonly name: string;
  /** "2024" or "2025" for the built-in datasets; absent for CSV files */
  readonly variant?: "2024" | "2025";
  /** how inputs were scaled: "none", "paper" (global min/max per split to [-0.7, 0.7]), "standard" */
  readonly scale: "none" | "paper" | "standard";
  /** seed of the built-in data generators and splits (the papers' random_state); absent for CSV files */
  readonly dataSeed?: number;
  readonly trainFile?: string;
  readonly testFile?: string;
  readonly notes?: string;
}

export interface Dataset {
  readonly description: DatasetDescription;
  readonly features: number;
  readonly classes: number;
  readonly train: Split;
  readonly test: Split;
}

export type SplitName = "train" | "test";

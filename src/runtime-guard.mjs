// Imported first by the .ts entry points: ES modules run in import order, so this check runs before any
// other module of the project does.
import { requireRuntime } from "./runtime.mjs";

requireRuntime();

/**
 * A generated, MRPC-shaped paraphrase task for the offline demo and learning tests: a positive
 * pair is a sentence and a light rewrite of it (phrases reordered, a word swapped for a
 * synonym); a negative pair is two unrelated sentences from the same grammar.
 *
 * @module
 */
import type { PairExample } from "./example.ts";
import { createRng } from "./rng.ts";

const SUBJECTS = [
  "company",
  "bank",
  "council",
  "union",
  "court",
  "agency",
  "team",
  "board",
  "school",
  "hospital",
  "airline",
  "studio",
  "museum",
  "city",
  "ministry",
  "police",
];
const VERBS = [
  "approved",
  "rejected",
  "announced",
  "delayed",
  "reviewed",
  "funded",
  "cancelled",
  "launched",
  "defended",
  "criticised",
  "expanded",
  "closed",
];
const OBJECTS = [
  "plan",
  "merger",
  "budget",
  "contract",
  "report",
  "project",
  "policy",
  "deal",
  "loan",
  "strike",
  "bridge",
  "program",
  "tax",
  "reform",
  "lawsuit",
  "station",
];
const ADJECTIVES = ["new", "large", "local", "federal", "private", "annual", "major", "small"];
const TIMES = [
  "monday",
  "tuesday",
  "friday",
  "yesterday",
  "today",
  "recently",
  "overnight",
  "again",
];
const PLACES = ["london", "paris", "texas", "ohio", "berlin", "tokyo", "boston", "denver"];
/** Synonym pairs used for light rewrites (each word maps to its partner). */
const SYNONYMS: Record<string, string> = {
  approved: "endorsed",
  rejected: "refused",
  announced: "unveiled",
  delayed: "postponed",
  company: "firm",
  plan: "proposal",
  large: "big",
  small: "modest",
  contract: "agreement",
  report: "study",
  cancelled: "scrapped",
  expanded: "enlarged",
};

/** The generated task: examples plus the word list a WordPiece vocabulary needs. */
export interface SyntheticTask {
  readonly train: PairExample[];
  readonly validation: PairExample[];
  /** Every word the sentences use (lowercase), for building `vocab.txt`. */
  readonly words: string[];
}

interface Parts {
  subject: string;
  verb: string;
  adjective: string;
  object: string;
  time: string;
  place: string;
}

function pick<T>(rng: () => number, list: readonly T[]): T {
  return list[Math.floor(rng() * list.length)];
}

function render(p: Parts, order: number): string {
  const core = `the ${p.subject} ${p.verb} the ${p.adjective} ${p.object}`;
  switch (order) {
    case 0:
      return `${core} in ${p.place} ${p.time} .`;
    case 1:
      return `in ${p.place} , ${core} ${p.time} .`;
    case 2:
      return `${p.time} , ${core} in ${p.place} .`;
    default:
      return `in ${p.place} ${p.time} , ${core} .`;
  }
}

function rewrite(rng: () => number, p: Parts): Parts {
  const q = { ...p };
  const keys = (Object.keys(q) as (keyof Parts)[]).filter((k) => SYNONYMS[q[k]] !== undefined);
  if (keys.length && rng() < 0.7) {
    const k = pick(rng, keys);
    q[k] = SYNONYMS[q[k]];
  }
  return q;
}

function drawParts(rng: () => number): Parts {
  return {
    subject: pick(rng, SUBJECTS),
    verb: pick(rng, VERBS),
    adjective: pick(rng, ADJECTIVES),
    object: pick(rng, OBJECTS),
    time: pick(rng, TIMES),
    place: pick(rng, PLACES),
  };
}

function makePair(rng: () => number, idx: number, positiveRate: number): PairExample {
  // Both labels use the same surface features (synonyms anywhere, the second sentence always in
  // another phrase order), so only comparing the two sentences tells them apart.
  const a = rewrite(rng, drawParts(rng));
  const orderA = Math.floor(rng() * 4);
  const orderB = (orderA + 1 + Math.floor(rng() * 3)) % 4;
  if (rng() < positiveRate) {
    return {
      idx,
      sentence1: render(a, orderA),
      sentence2: render(rewrite(rng, a), orderB),
      label: 1,
    };
  }
  let b = drawParts(rng);
  // Unrelated: the pair must differ in at least subject, verb and object.
  while (b.subject === a.subject || b.verb === a.verb || b.object === a.object) b = drawParts(rng);
  return {
    idx,
    sentence1: render(a, orderA),
    sentence2: render(rewrite(rng, b), orderB),
    label: 0,
  };
}

/**
 * Generates the task deterministically from `seed`. Labels are balanced like MRPC (about 68%
 * positive by default).
 */
export function generateParaphraseTask(
  options: { seed: number; trainSize?: number; validationSize?: number; positiveRate?: number },
): SyntheticTask {
  const rng = createRng(options.seed);
  const positiveRate = options.positiveRate ?? 0.68;
  const train = Array.from(
    { length: options.trainSize ?? 2000 },
    (_, i) => makePair(rng, i, positiveRate),
  );
  const validation = Array.from(
    { length: options.validationSize ?? 400 },
    (_, i) => makePair(rng, i, positiveRate),
  );
  const words = new Set<string>(["the", "in", ",", "."]);
  for (const list of [SUBJECTS, VERBS, OBJECTS, ADJECTIVES, TIMES, PLACES]) {
    for (const w of list) words.add(w);
  }
  for (const w of Object.values(SYNONYMS)) words.add(w);
  return { train, validation, words: [...words].sort() };
}

/**
 * A generated, MRPC-shaped paraphrase task for the offline demo and learning tests. Sentences
 * come from one grammar over several topics (business, sport, science, politics), each with
 * its own actors, actions and objects. A positive pair is a sentence and a light rewrite of it
 * (active/passive voice or the time phrase moved, often one word swapped for a synonym); a negative pair is two unrelated
 * sentences, from different topics. Both labels share every surface feature (synonyms occur
 * in both, the second sentence always has another phrase order), so only comparing the two
 * sentences tells them apart.
 *
 * @module
 */
import type { PairExample } from "./example.ts";
import { createRng } from "../core/mod.ts";

interface Topic {
  readonly subjects: readonly string[];
  readonly verbs: readonly string[];
  readonly objects: readonly string[];
  readonly adjectives: readonly string[];
}

function words(text: string): string[] {
  return text.split(" ");
}

const TOPICS: readonly Topic[] = [
  {
    subjects: words("company bank firm board investors lender"),
    verbs: words("approved rejected announced delayed funded cancelled"),
    objects: words("merger budget contract loan deal dividend"),
    adjectives: words("annual private large quarterly"),
  },
  {
    subjects: words("team coach club players league captain"),
    verbs: words("won lost played hosted postponed secured"),
    objects: words("match final tournament title game season"),
    adjectives: words("home crucial opening decisive"),
  },
  {
    subjects: words("researchers scientists laboratory university study engineers"),
    verbs: words("discovered measured tested published observed developed"),
    objects: words("vaccine protein particle telescope enzyme sensor"),
    adjectives: words("new experimental rare tiny"),
  },
  {
    subjects: words("senate governor minister parliament council mayor"),
    verbs: words("passed vetoed debated proposed blocked signed"),
    objects: words("bill law reform tax treaty amendment"),
    adjectives: words("federal controversial local sweeping"),
  },
];
const TIMES = words("monday tuesday friday yesterday today recently overnight again");
/** Synonym pairs used for light rewrites (each word maps to its partner). */
const SYNONYMS: Readonly<Record<string, string>> = {
  approved: "endorsed",
  rejected: "refused",
  announced: "unveiled",
  delayed: "postponed",
  company: "corporation",
  large: "big",
  contract: "agreement",
  won: "clinched",
  match: "fixture",
  players: "athletes",
  discovered: "found",
  researchers: "investigators",
  new: "novel",
  passed: "adopted",
  bill: "legislation",
  proposed: "suggested",
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
}

function pick<T>(rng: () => number, list: readonly T[]): T {
  return list[Math.floor(rng() * list.length)];
}

/** Number of surface forms `render` knows (active, passive, fronted time). */
const FORMS = 3;

function render(p: Parts, form: number): string {
  switch (form) {
    case 0:
      return `the ${p.subject} ${p.verb} the ${p.adjective} ${p.object} ${p.time} .`;
    case 1:
      return `the ${p.adjective} ${p.object} was ${p.verb} by the ${p.subject} ${p.time} .`;
    default:
      return `${p.time} , the ${p.subject} ${p.verb} the ${p.adjective} ${p.object} .`;
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

function drawParts(rng: () => number, topic: Topic): Parts {
  return {
    subject: pick(rng, topic.subjects),
    verb: pick(rng, topic.verbs),
    adjective: pick(rng, topic.adjectives),
    object: pick(rng, topic.objects),
    time: pick(rng, TIMES),
  };
}

function makePair(rng: () => number, idx: number, positiveRate: number): PairExample {
  const topicA = Math.floor(rng() * TOPICS.length);
  const a = rewrite(rng, drawParts(rng, TOPICS[topicA]));
  const orderA = Math.floor(rng() * FORMS);
  const orderB = (orderA + 1 + Math.floor(rng() * (FORMS - 1))) % FORMS;
  if (rng() < positiveRate) {
    return {
      idx,
      sentence1: render(a, orderA),
      sentence2: render(rewrite(rng, a), orderB),
      label: 1,
    };
  }
  const topicB = (topicA + 1 + Math.floor(rng() * (TOPICS.length - 1))) % TOPICS.length;
  const b = rewrite(rng, drawParts(rng, TOPICS[topicB]));
  return { idx, sentence1: render(a, orderA), sentence2: render(b, orderB), label: 0 };
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
  const make = (n: number) => Array.from({ length: n }, (_, i) => makePair(rng, i, positiveRate));
  const train = make(options.trainSize ?? 2000);
  const validation = make(options.validationSize ?? 400);
  const vocab = new Set<string>(["the", "was", "by", ",", ".", ...TIMES]);
  for (const t of TOPICS) {
    for (const w of [...t.subjects, ...t.verbs, ...t.objects, ...t.adjectives]) vocab.add(w);
  }
  for (const w of Object.values(SYNONYMS)) vocab.add(w);
  return { train, validation, words: [...vocab].sort() };
}

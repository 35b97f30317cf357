import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { downmix } from '../../audio/downmix.js'
import { resample } from '../../audio/resampler.js'
import { decodeWav, encodeWav, isWav } from '../../audio/wav.js'
import { LLMRTC_ERR_OPTIONS_INVALID, LLMRTC_ERR_PROVIDER_INIT, LLMRTC_ERR_STT } from '../../errors.js'
import type { STTConfig, STTProvider, STTResult } from '../types.js'
import { ChildRun, describeExit, type ChildExit } from './child-run.js'
import { defaultDictionary, writeGrammarDictionary } from './grammar-dictionary.js'
import { normalizePhrase, phrasesToJsgf } from './jsgf.js'

/** How to get pocketsphinx, for error messages. */
export const POCKETSPHINX_INSTALL_HINT = 'install it with its US English model (Debian/Ubuntu: apt-get install pocketsphinx pocketsphinx-en-us) or set STT_PROVIDER to another provider'

const RATE_HZ = 16000

export interface PocketsphinxSTTOptions {
  /**
   * The executable: `pocketsphinx_continuous` (5prealpha, Debian 12 / Ubuntu 24.04) or `pocketsphinx`
   * (5.x), a name looked up on PATH or a path (default `pocketsphinx_continuous`).
   */
  binary?: string
  /** Phrases to listen for: a grammar is made of them (the mode in which pocketsphinx is accurate). */
  phrases?: readonly string[]
  /** A JSGF grammar, as text. */
  grammar?: string
  /** The path of a JSGF `.gram` file. Without phrases or a grammar: open vocabulary (inaccurate). */
  grammarFile?: string
  /**
   * With a grammar: when the speech matched none of its phrases, answer with a sentence saying so and
   * how long the speech was (as the placeholder STT does) instead of an empty transcript (default false).
   */
  describeNoMatch?: boolean
  /**
   * The pronunciation dictionary (default: the one installed with pocketsphinx). With `phrases`, only
   * their words are loaded from it, which makes each run several times faster.
   */
  dictionary?: string
}

/**
 * Speech recognition with CMU pocketsphinx, run as a separate process per utterance on 16 kHz mono
 * PCM (other WAV formats are converted first). An abort kills the process. `init()` runs it once on
 * silence, so a missing binary, model or dictionary word fails at start-up with LLMRTC_ERR_PROVIDER_INIT.
 */
export class PocketsphinxSTT implements STTProvider {
  readonly name = 'pocketsphinx-stt'
  readonly #binary: string
  readonly #modern: boolean
  readonly #grammarText: string | undefined
  readonly #grammarFile: string | undefined
  readonly #describeNoMatch: boolean
  readonly #words: Set<string> | undefined
  readonly #dictionary: string | undefined
  #dictArgs: string[] = []
  #tempDir: string | undefined
  #ready: Promise<string> | undefined

  constructor (options: PocketsphinxSTTOptions = {}) {
    const given = [options.phrases, options.grammar, options.grammarFile].filter(x => x !== undefined)
    if (given.length > 1) throw new LLMRTC_ERR_OPTIONS_INVALID('phrases', 'at most one of phrases, grammar and grammarFile', `${given.length} of them`)
    this.#binary = options.binary ?? 'pocketsphinx_continuous'
    this.#modern = basename(this.#binary) === 'pocketsphinx'
    this.#grammarText = options.phrases !== undefined ? phrasesToJsgf(options.phrases) : options.grammar
    this.#grammarFile = options.grammarFile
    this.#describeNoMatch = options.describeNoMatch ?? false
    this.#words = options.phrases === undefined ? undefined : new Set(options.phrases.flatMap(p => normalizePhrase(p).split(' ')).filter(w => w !== ''))
    this.#dictionary = options.dictionary
  }

  /** Whether it listens for a grammar (false: open vocabulary). */
  get grammar (): boolean { return this.#grammarText !== undefined || this.#grammarFile !== undefined }

  /** Creates its temporary folder, writes the grammar and runs pocketsphinx once on silence. Idempotent. */
  async init (): Promise<void> {
    await this.#dir()
  }

  async close (): Promise<void> {
    const dir = this.#tempDir
    this.#tempDir = undefined
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  }

  async transcribe (audio: Buffer, config?: STTConfig): Promise<STTResult> {
    config?.signal?.throwIfAborted()
    const samples = toSpeechRate(audio)
    if (samples.length === 0) return { text: '', isFinal: true }
    const stdout = await this.#run(samples, config?.signal, LLMRTC_ERR_STT)
    config?.signal?.throwIfAborted()
    const text = this.#parse(stdout)
    if (text === '' && this.#describeNoMatch && this.grammar) {
      const seconds = (samples.length / RATE_HZ).toFixed(1)
      return { text: `I heard ${seconds} seconds of speech, but it matched none of the phrases I listen for.`, isFinal: true }
    }
    return { text, isFinal: true }
  }

  async #prepare (): Promise<string> {
    const dir = this.#tempDir = await mkdtemp(join(tmpdir(), 'llmrtc-pocketsphinx-'))
    try {
      if (this.#grammarText !== undefined) await writeFile(join(dir, 'grammar.gram'), this.#grammarText)
      const dictionary = this.#dictionary ?? defaultDictionary(this.#binary)
      if (this.#words !== undefined && dictionary !== undefined) {
        const missing = await writeGrammarDictionary(dictionary, this.#words, join(dir, 'words.dict'))
        if (missing.length > 0) throw new LLMRTC_ERR_PROVIDER_INIT(this.name, `these words of the phrases are not in the pronunciation dictionary: ${missing.join(', ')}`)
        this.#dictArgs = ['-dict', join(dir, 'words.dict')]
      } else if (this.#dictionary !== undefined) {
        this.#dictArgs = ['-dict', this.#dictionary]
      }
      await this.#run(new Int16Array(RATE_HZ / 10), undefined, LLMRTC_ERR_PROVIDER_INIT, dir)
      return dir
    } catch (error) {
      // A provider that failed to start is never closed: leave no folder behind.
      await this.close()
      throw error
    }
  }

  /**
   * Runs pocketsphinx on `samples` and returns its stdout. The audio goes through a file in the
   * temporary folder: Node gives a child's stdin as a socket, which 5prealpha's `-infile` cannot open.
   */
  async #run (samples: Int16Array, signal: AbortSignal | undefined, Failure: typeof LLMRTC_ERR_STT | typeof LLMRTC_ERR_PROVIDER_INIT, dir?: string): Promise<string> {
    dir ??= await this.#dir()
    const file = join(dir, `${randomUUID()}.${this.#modern ? 'wav' : 'raw'}`)
    await writeFile(file, this.#modern ? encodeWav(samples, RATE_HZ) : Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength))
    try {
      const grammarFile = this.#grammarText !== undefined ? join(dir, 'grammar.gram') : this.#grammarFile
      const grammar = [...(grammarFile === undefined ? [] : ['-jsgf', grammarFile]), ...this.#dictArgs]
      const args = this.#modern ? [...grammar, 'single', file] : ['-infile', file, ...grammar]
      const { stdout, exit } = await new ChildRun(this.#binary, args, '', signal).output()
      if (signal?.aborted === true) return ''
      if (exit.spawnError?.code === 'ENOENT') {
        throw new Failure(this.name, `pocketsphinx was not found (${this.#binary}): ${POCKETSPHINX_INSTALL_HINT}`, { cause: exit.spawnError })
      }
      if (exit.code !== 0) throw new Failure(this.name, `pocketsphinx ${describeExit(exit)}${errorLines(exit)}`, { cause: exit.spawnError })
      return stdout.toString('utf8')
    } finally {
      await rm(file, { force: true })
    }
  }

  async #dir (): Promise<string> {
    this.#ready ??= this.#prepare()
    return await this.#ready
  }

  /** 5prealpha prints one line of text per utterance; 5.x one JSON object per line with the text in `t`. */
  #parse (stdout: string): string {
    const lines = stdout.split('\n').map(line => line.trim()).filter(line => line !== '')
    const texts = this.#modern ? lines.map(line => jsonText(line)) : lines
    return texts.join(' ').replace(/\s+/g, ' ').trim()
  }
}

function jsonText (line: string): string {
  try {
    const parsed = JSON.parse(line) as { t?: unknown }
    return typeof parsed.t === 'string' ? parsed.t : ''
  } catch {
    return ''
  }
}

/** 16 kHz mono samples of a WAV (any rate, any channel count) or of raw 16 kHz s16le PCM. */
function toSpeechRate (audio: Buffer): Int16Array {
  if (!isWav(audio)) return new Int16Array(audio.buffer, audio.byteOffset, Math.floor(audio.length / 2)).slice()
  const wav = decodeWav(audio)
  const mono = downmix(wav.samples, wav.channels, new Int16Array(Math.floor(wav.samples.length / wav.channels)))
  return wav.sampleRateHz === RATE_HZ ? mono : resample(mono, wav.sampleRateHz, RATE_HZ)
}

/** ": <pocketsphinx's ERROR lines>" (its stderr is mostly INFO lines), or nothing. */
function errorLines (exit: ChildExit): string {
  const errors = exit.stderr.split('\n').filter(line => /^(ERROR|FATAL)/.test(line)).map(line => line.replace(/^(ERROR|FATAL(_ERROR)?): "[^"]*", line \d+: /, ''))
  return errors.length === 0 ? '' : `: ${errors.slice(-3).join('; ')}`
}

/** Kernel config switches given as KEY=VALUE text, over the defaults. */
import { errors } from '../errors.js';
import { CONFIG_CHOICES, DEFAULT_CONFIG, type KernelConfig } from '../linux/kernel.js';

/** KEY=VALUE over the defaults: booleans as y/n (or 1/0, true/false), numbers as numbers, words as one of their choices. */
export function resolveConfig(given: Readonly<Record<string, string>>): KernelConfig {
  const config: Record<string, boolean | number | string> = { ...DEFAULT_CONFIG };
  for (const [key, raw] of Object.entries(given)) {
    const current = config[key];
    if (current === undefined) {
      throw errors.usage(`unknown config '${key}' (config: ${Object.keys(DEFAULT_CONFIG).join(', ')})`);
    }
    config[key] = typeof current === 'boolean' ? yesNo(key, raw) : typeof current === 'number' ? count(key, raw) : choice(key, raw);
  }
  return config as unknown as KernelConfig;
}

function yesNo(key: string, raw: string): boolean {
  if (/^(y|yes|1|true)$/i.test(raw)) return true;
  if (/^(n|no|0|false)$/i.test(raw)) return false;
  throw errors.usage(`config ${key} is y or n, got '${raw}'`);
}

function choice(key: string, raw: string): string {
  const choices = CONFIG_CHOICES[key as keyof KernelConfig] ?? [];
  if (choices.includes(raw)) return raw;
  throw errors.usage(`config ${key} is one of ${choices.join(', ')}, got '${raw}'`);
}

function count(key: string, raw: string): number {
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < 0) throw errors.usage(`config ${key} must be a non-negative integer, got '${raw}'`);
  return v;
}

/**
 * The switches of a recorded config that differ from this build's defaults, as KEY=VALUE (booleans
 * y/n, as given on the command line): what `list` shows, since a default config says nothing.
 */
export function configChanges(config: Readonly<Record<string, unknown>>): string[] {
  const defaults = DEFAULT_CONFIG as unknown as Record<string, unknown>;
  return Object.entries(config)
    .filter(([key, value]) => defaults[key] !== value)
    .map(([key, value]) => `${key}=${typeof value === 'boolean' ? (value ? 'y' : 'n') : String(value)}`);
}

/** Numbers typed as command arguments, checked with messages that name the argument. */
import { CommandError } from './command-tree.ts';

export function wholeNumber(value: string, name: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new CommandError(`${name} must be a whole number, not "${value}"`);
  return Number(value);
}

export function seconds(value: string, name: string, max: number): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n > max) throw new CommandError(`${name} must be a number of seconds from 0 to ${max}, not "${value}"`);
  return n;
}


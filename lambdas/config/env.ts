import { EnvironmentError } from '../domain/errors.js';

/** A variable the function's environment must set: fail fast at module init, naming it. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new EnvironmentError(`environment variable ${name} is required`);
  return value;
}

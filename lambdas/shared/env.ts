/** Thrown at module init when the function's environment is incomplete: fail fast, naming the variable. */
export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}

export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new EnvironmentError(`environment variable ${name} is required`);
  return value;
}

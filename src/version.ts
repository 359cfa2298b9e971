/** The package version, reported as the instrumentation scope version and in the User-Agent. */
export const VERSION = '0.1.0';
export const PACKAGE_NAME = 'assistants-otel';

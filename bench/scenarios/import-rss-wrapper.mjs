// Used by the import scenario when /usr/bin/time is absent: runs the CLI in this process and, at
// exit, writes this process's resource usage (peak RSS, CPU) as one line on stderr.
// Usage: node import-rss-wrapper.mjs <path to dist/cli/bin.js> import FILE ...
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(`BENCH_RESOURCE_USAGE ${JSON.stringify({ maxRssKb: u.maxRSS, userSeconds: u.userCPUTime / 1e6, systemSeconds: u.systemCPUTime / 1e6 })}\n`);
});
const [bin, ...args] = process.argv.slice(2);
process.argv = [process.argv[0], bin, ...args];
await import(new URL(`file://${bin}`).href);

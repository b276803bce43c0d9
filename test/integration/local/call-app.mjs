// A client application for workload tests: fetches the URL in argv[2] through
// the environment's HTTP proxy (the workload's own proxy), prints the answer,
// and exits 0 only on a 200. Retries briefly while the mesh catches up.
const url = process.argv[2];
for (let attempt = 1; ; attempt++) {
  try {
    const response = await fetch(url);
    const body = await response.text();
    // Only the answer that ends the attempts goes to stdout; earlier ones are kept apart for diagnosis.
    if (response.status === 200 || attempt >= 60) {
      process.stdout.write(`${response.status} ${body}`);
      process.exit(response.status === 200 ? 0 : 1);
    }
    process.stderr.write(`attempt ${attempt}: ${response.status} ${body}\n`);
  } catch (error) {
    if (attempt >= 60) {
      process.stderr.write(`${error.message}: ${error.cause?.message ?? ''}\n`);
      process.exit(1);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}

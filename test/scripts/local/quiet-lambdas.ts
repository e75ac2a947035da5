// Imported first by tests that run the Lambda handlers: Powertools reads these when the handler
// modules load, and the handlers' per-invocation logs and EMF metrics would drown the test output.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

// A shifted wall clock for proving that no test depends on the date staying the same during a run:
// `ALBATROSS_TEST_CLOCK=2026-03-01T23:59:00Z npm test` starts the run's clock at that instant (test/
// global-setup.ts computes the offset once and preloads this module into every vitest worker and
// every Node child process through NODE_OPTIONS), so the run crosses UTC midnight a minute in.
// Only the wall clock moves: Date.now() and `new Date()`; timers and performance.now() are real.
import http from 'node:http';

const offset = Number(process.env.ALBATROSS_TEST_CLOCK_OFFSET_MS);
if (Number.isFinite(offset) && offset !== 0) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  const now = () => realNow() + offset;
  globalThis.Date = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      return args.length === 0 ? Reflect.construct(target, [now()], newTarget) : Reflect.construct(target, args, newTarget);
    },
    apply() {
      return new RealDate(now()).toString();
    },
    get(target, property, receiver) {
      return property === 'now' ? now : Reflect.get(target, property, receiver);
    },
  });
  // Node's HTTP server writes its Date header from the real clock (internals keep the original Date):
  // write the shifted one instead, or the AWS SDK would "correct" its clock towards the loopback
  // stand-ins' real time and sign requests those same stand-ins then refuse as skewed.
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (event, request, response) {
    if (event === 'request' && response && !response.headersSent) response.setHeader('date', new RealDate(now()).toUTCString());
    return emit.apply(this, arguments);
  };
}

// Pure parts of the requeue: queue URLs from event ARNs, the jittered delay and its settings.
// (The visibility change itself is tested against a real SQS server in sqs-redelivery.test.ts.)
import { describe, expect, it } from 'vitest';
import { DEFAULT_REQUEUE_DELAY, queueUrlFromArn, requeueDelayFromEnvironment, requeueDelaySeconds } from '../../../transform/loader/requeue.ts';

describe('queueUrlFromArn', () => {
  it('builds the regional SQS URL, or one under an endpoint override', () => {
    expect(queueUrlFromArn('arn:aws:sqs:eu-central-1:123456789012:albatross-objects'))
      .toBe('https://sqs.eu-central-1.amazonaws.com/123456789012/albatross-objects');
    expect(queueUrlFromArn('arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo'))
      .toBe('https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q.fifo');
    expect(queueUrlFromArn('arn:aws:sqs:us-east-2:123456789012:q', 'http://127.0.0.1:9324/'))
      .toBe('http://127.0.0.1:9324/123456789012/q');
  });

  it('rejects what is not a queue ARN', () => {
    expect(() => queueUrlFromArn('arn:aws:sns:us-east-2:123456789012:topic')).toThrow(/not an SQS queue ARN/);
    expect(() => queueUrlFromArn('https://sqs.us-east-2.amazonaws.com/123456789012/q')).toThrow(/not an SQS queue ARN/);
  });
});

describe('requeue delay', () => {
  it('is whole seconds between the minimum and the minimum plus the jitter', () => {
    expect(requeueDelaySeconds({ minSeconds: 30, jitterSeconds: 60 }, () => 0)).toBe(30);
    expect(requeueDelaySeconds({ minSeconds: 30, jitterSeconds: 60 }, () => 0.999)).toBe(90);
    expect(requeueDelaySeconds({ minSeconds: 30, jitterSeconds: 60 }, () => 0.5)).toBe(60);
  });

  it('reads its settings from the environment, keeping the default (and naming the problem) for a bad value', () => {
    expect(requeueDelayFromEnvironment({})).toEqual({ delay: DEFAULT_REQUEUE_DELAY, problems: [] });
    expect(requeueDelayFromEnvironment({ ALBATROSS_REQUEUE_MIN_SECONDS: '5', ALBATROSS_REQUEUE_JITTER_SECONDS: '0' }))
      .toEqual({ delay: { minSeconds: 5, jitterSeconds: 0 }, problems: [] });
    const bad = requeueDelayFromEnvironment({ ALBATROSS_REQUEUE_MIN_SECONDS: '901', ALBATROSS_REQUEUE_JITTER_SECONDS: '1.5' });
    expect(bad.delay).toEqual(DEFAULT_REQUEUE_DELAY);
    expect(bad.problems).toEqual([
      'ALBATROSS_REQUEUE_MIN_SECONDS=901 is not a whole number of seconds from 0 to 900; using 30',
      'ALBATROSS_REQUEUE_JITTER_SECONDS=1.5 is not a whole number of seconds from 0 to 900; using 60',
    ]);
  });
});

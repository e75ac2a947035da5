// Puts a message whose object is still making progress back on its queue after a short jittered
// delay (SQS ChangeMessageVisibility on its receipt handle) instead of after the queue's full
// visibility timeout. Lambda reports it as a batch item failure either way; the receive count
// then lets a large or throttled object finish in several slices.
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface RequeueDelay {
  /** Shortest delay, seconds. */
  minSeconds: number;
  /** A uniformly random 0..jitterSeconds is added, so throttled objects do not come back together. */
  jitterSeconds: number;
}

export const DEFAULT_REQUEUE_DELAY: Readonly<RequeueDelay> = Object.freeze({ minSeconds: 30, jitterSeconds: 60 });
/** SQS's largest visibility timeout (12 h). */
export const MAX_VISIBILITY_SECONDS = 43_200;
/** Upper bound of each setting: a longer delay would approach the queue's visibility timeout. */
export const MAX_REQUEUE_SETTING_SECONDS = 900;

/** Whole seconds (SQS's unit) in [minSeconds, minSeconds + jitterSeconds]. */
export function requeueDelaySeconds(delay: RequeueDelay, random: () => number = Math.random): number {
  return Math.round(delay.minSeconds + random() * delay.jitterSeconds);
}

/**
 * ALBATROSS_REQUEUE_MIN_SECONDS and ALBATROSS_REQUEUE_JITTER_SECONDS (each 0..900, whole seconds).
 * A missing value takes its default; an invalid one too, and is named in `problems` (the handler
 * logs them): a typo must not turn every interruption into a failed message.
 */
export function requeueDelayFromEnvironment(env: NodeJS.ProcessEnv): { delay: RequeueDelay; problems: string[] } {
  const problems: string[] = [];
  const read = (name: string, fallback: number): number => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (Number.isInteger(value) && value >= 0 && value <= MAX_REQUEUE_SETTING_SECONDS) return value;
    problems.push(`${name}=${raw} is not a whole number of seconds from 0 to ${MAX_REQUEUE_SETTING_SECONDS}; using ${fallback}`);
    return fallback;
  };
  return {
    delay: {
      minSeconds: read('ALBATROSS_REQUEUE_MIN_SECONDS', DEFAULT_REQUEUE_DELAY.minSeconds),
      jitterSeconds: read('ALBATROSS_REQUEUE_JITTER_SECONDS', DEFAULT_REQUEUE_DELAY.jitterSeconds),
    },
    problems,
  };
}

const QUEUE_ARN = /^arn:([a-z-]+):sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/;

/**
 * The queue URL for an event's `eventSourceARN`: `<endpoint>/<account>/<name>`, with SQS's regional
 * endpoint unless `endpoint` (a loopback server, or AWS_ENDPOINT_URL_SQS) is given.
 */
export function queueUrlFromArn(arn: string, endpoint?: string): string {
  const match = QUEUE_ARN.exec(arn);
  if (!match) throw new Error(`not an SQS queue ARN: ${arn}`);
  const [, partition, region, account, name] = match;
  const origin = endpoint?.replace(/\/+$/, '') ?? `https://sqs.${region}.${partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
  return `${origin}/${account}/${name}`;
}

export interface QueuedMessage {
  eventSourceARN: string;
  receiptHandle: string;
}

export interface MessageRequeuer {
  /** The message becomes visible again `delaySeconds` from now. */
  requeue(message: QueuedMessage, delaySeconds: number): Promise<void>;
}

export class SqsRequeuer implements MessageRequeuer {
  /** `endpoint`: where the queue is served when not at SQS's regional endpoint; default: the client's custom endpoint, if any. */
  constructor(private readonly sqs: SQSClient, private readonly endpoint?: string) {}

  async requeue(message: QueuedMessage, delaySeconds: number): Promise<void> {
    await this.sqs.send(new ChangeMessageVisibilityCommand({
      QueueUrl: queueUrlFromArn(message.eventSourceARN, this.endpoint ?? (await this.customEndpoint())),
      ReceiptHandle: message.receiptHandle,
      VisibilityTimeout: delaySeconds,
    }));
  }

  private async customEndpoint(): Promise<string | undefined> {
    if (!this.sqs.config.isCustomEndpoint || !this.sqs.config.endpoint) return undefined;
    const { protocol, hostname, port, path } = await this.sqs.config.endpoint();
    return `${protocol}//${hostname}${port === undefined ? '' : `:${port}`}${path}`;
  }
}

/**
 * A stream of one run, as the application reads it: each event handed to the tracker, and how the
 * reading ended. A stream that creates its run learns the run's id from its first run event.
 */
import type { Creation, FollowedRun } from './followed-run.js';
import { classifyStreamEvent } from './stream.js';
import type { RunTracker } from './tracker.js';

/** A stream of one run, as the application reads it. */
export class StreamFollower {
  private followed: FollowedRun | undefined;
  private ended = false;

  constructor(
    private readonly tracker: RunTracker,
    private readonly creation: Creation | undefined,
    known?: FollowedRun,
  ) {
    this.followed = known;
    if (known) known.streams++;
  }

  /** One event, as the SDK yields it to the application (name and parsed data). */
  event(name: string | null | undefined, data: unknown, at: number): void {
    if (this.ended) return;
    const observation = classifyStreamEvent(name, data);
    if (!this.followed && observation.kind === 'run' && observation.runId !== undefined && this.creation) {
      this.followed = this.tracker.beginFollowing(observation.runId, this.creation, at, observation.phase === 'created');
      this.followed.streams++;
    }
    if (this.followed) this.tracker.applyStreamObservation(this.followed, observation, at);
  }

  /** The stream is over: read to its end (`done`), closed early by the application, or failed. */
  end(how: 'done' | 'closed' | 'error'): void {
    if (this.ended) return;
    this.ended = true;
    if (this.followed) this.tracker.streamEnded(this.followed, how);
  }
}


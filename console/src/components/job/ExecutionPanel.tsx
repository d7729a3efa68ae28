import { useEffect, useRef } from 'react';
import { formatTime } from '../../format.ts';
import { ErrorNote, Loading } from '../ErrorNote.tsx';
import { isLive, ProgressBar, runningTime, StateBadge, triggerWords, useNow } from './execution.tsx';
import { LOG_TAIL, type LiveExecution } from './live.ts';
import { StopButton } from './StopButton.tsx';

/**
 * An execution as it happens: state and final status, timings, progress, arguments and the tail of
 * its log, with a Stop button while it runs. `live` comes from useLiveExecution.
 */
export function ExecutionPanel({ live, level = 2 }: { live: LiveExecution; level?: 2 | 3 }) {
  const { execution, error, liveError, apply } = live;
  const now = useNow(execution ? isLive(execution.state) : false);
  const Heading = level === 2 ? 'h2' : 'h3';
  if (execution === undefined) return error ? <ErrorNote message={error} /> : <Loading what="the run" />;
  if (execution === null) return <ErrorNote title="Not found" message="this project has no such run" />;
  const running = isLive(execution.state);
  return (
    <div className="execution">
      {error && <ErrorNote message={error} />}
      {liveError && <ErrorNote title="Live updates stopped" message={liveError} />}
      <div className="toolbar">
        <span aria-live="polite">
          State <StateBadge state={execution.state} />
        </span>
        <StopButton execution={execution} label="Stop this run" onStopped={apply} />
      </div>
      <dl className="facts">
        <dt>Final status</dt>
        <dd>{execution.finalStatus ?? (running ? 'not ended yet' : '—')}</dd>
        <dt>Trigger</dt>
        <dd>
          {triggerWords(execution.trigger)}
          {execution.scheduledAt && <span className="muted"> (for {formatTime(execution.scheduledAt)})</span>}
        </dd>
        <dt>Requested</dt>
        <dd>{formatTime(execution.createdAt)}</dd>
        <dt>Started</dt>
        <dd>{formatTime(execution.startedAt)}</dd>
        <dt>Finished</dt>
        <dd>{formatTime(execution.finishedAt)}</dd>
        <dt>Duration</dt>
        <dd>{runningTime(execution, now)}</dd>
        <dt>Progress</dt>
        <dd>
          <ProgressBar progress={execution.progress} label="Progress of this run" message={execution.progressMessage} />
        </dd>
        <dt>Arguments</dt>
        <dd>{execution.args === null ? <span className="muted">none</span> : <code className="json">{JSON.stringify(execution.args)}</code>}</dd>
      </dl>
      <Heading>Log</Heading>
      <Log lines={execution.logs} running={running} />
    </div>
  );
}

/** The log tail, scrolled to its end as lines arrive unless the reader scrolled up. */
function Log({ lines, running }: { lines: readonly string[]; running: boolean }) {
  const box = useRef<HTMLElement>(null);
  const pinned = useRef(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs for each new reading of the lines
  useEffect(() => {
    const el = box.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <>
      <p className="muted">
        {lines.length >= LOG_TAIL ? `The last ${LOG_TAIL} lines` : `${lines.length} ${lines.length === 1 ? 'line' : 'lines'}`}
        {running ? '; new lines appear as the run writes them.' : '.'}
      </p>
      <section
        ref={box}
        className="log"
        aria-label="Log of this run"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          pinned.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
        }}
      >
        {lines.length === 0 ? (
          <p className="muted">{running ? 'No output yet.' : 'No output.'}</p>
        ) : (
          <pre>
            {lines.map((line, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: plain text lines, nothing kept per line
              <span key={i} className={line.startsWith('[stderr]') ? 'stderr' : undefined}>
                {line}
                {'\n'}
              </span>
            ))}
          </pre>
        )}
      </section>
    </>
  );
}

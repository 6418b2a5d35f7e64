/** The run picker: a file with several runs and no #RUN opens on its list of runs. */
import { Box, Text, useApp, useInput } from 'ink';
import { useRef, useState } from 'react';
import type { RunInfo } from '../../src/trace/reader.js';
import { fit } from './parts.js';
import { useFail } from './use-keys.js';

export function runLine(r: RunInfo): string {
  const variant = r.variant.length ? `+${r.variant.join('+')}` : '';
  return `${String(r.id).padStart(3)} ${r.name.padEnd(24)} ${r.workload.padEnd(20)} ${(r.path + variant).padEnd(14)} seed ${String(r.seed).padEnd(5)} ${String(r.events).padStart(9)} events ${r.status}`;
}

export function RunPicker(props: { file: string; runs: readonly RunInfo[]; width: number; height: number; onPick: (run: RunInfo) => void }) {
  const { exit } = useApp();
  const fail = useFail();
  const [selected, setSelected] = useState(0);
  // The selection as the keys so far leave it. A key can come before React has drawn the last
  // one and handed ink the handler that sees its state (j then Enter in one burst): read from
  // here, Enter opens the run the keys chose, not the one on screen a key ago.
  const chosen = useRef(0);
  const select = (i: number) => {
    chosen.current = Math.min(props.runs.length - 1, Math.max(0, i));
    setSelected(chosen.current);
  };
  useInput((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) exit();
    else if (input === 'j' || key.downArrow) select(chosen.current + 1);
    else if (input === 'k' || key.upArrow) select(chosen.current - 1);
    else if (key.return) {
      try {
        props.onPick(props.runs[chosen.current]!);
      } catch (e) {
        fail(e);
      }
    }
  });
  const shown = props.runs.slice(0, Math.max(1, props.height - 3));
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">{fit(`${props.file}: ${props.runs.length} runs. j/k choose, Enter opens, q quits`, props.width)}</Text>
      {shown.map((r, i) => (
        <Text key={r.id} inverse={i === selected} wrap="truncate">{fit(`${i === selected ? '>' : ' '} ${runLine(r)}`, props.width)}</Text>
      ))}
    </Box>
  );
}

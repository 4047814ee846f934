/**
 * The capture pipeline the frame-level targets drive: flow stage (packet decoder, flow table,
 * fragments) with the sniff stage (reassembly, detection, sniffers) as its observer, records
 * checked as they are written.
 */
import type { FrameView } from '../../src/capture/frame.ts';
import { createFlowStage, createSniffStage } from '../../src/capture/pipeline-parts.ts';
import { defaultCaptureConfig } from '../../src/config/capture-config.ts';
import type { FlowStage } from '../../src/flow/flow-stage.ts';
import { checkRecord } from './check.ts';

export interface Pipeline {
  stage: FlowStage;
  records(): number;
}

export function newPipeline(): Pipeline {
  const config = defaultCaptureConfig();
  config.flows.maxFlows = 4096;
  config.sniff.httpBody = true;
  config.sniff.reassemblyMemoryBytes = 8 << 20;
  let n = 0;
  const sniff = createSniffStage(config, 'fuzz', {
    write(rec) {
      n++;
      checkRecord(rec);
    },
  });
  const stage = createFlowStage(config, null, { observer: sniff });
  return { stage, records: () => n };
}

export function frameView(data: Buffer, linkType: number, tsSec: number): FrameView {
  return {
    data,
    offset: 0,
    capLen: data.length,
    origLen: data.length,
    tsSec,
    tsNsec: 0,
    iface: { id: 0, linkType, snapLen: 262144, tsPrecision: 'us', name: 'fuzz' },
  };
}

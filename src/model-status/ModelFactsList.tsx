import {
  describeQuantization,
  describeSource,
  formatBytes,
  formatCount,
  type ModelFacts,
} from "./model-info";

export function ModelFactsList({ url, facts }: { readonly url: string; readonly facts: ModelFacts }) {
  const { metadata: m } = facts;
  return (
    <dl className="facts">
      <dt>Source</dt>
      <dd>{describeSource(m)}</dd>
      <dt>Quantization</dt>
      <dd>{describeQuantization(m)}</dd>
      <dt>Parameters</dt>
      <dd>
        {formatCount(m.params.total)} total; {formatCount(m.params.convBase)} conv base
      </dd>
      <dt>Layers</dt>
      <dd>
        {m.includeTop
          ? "Includes top: conv base plus the 1000-class ImageNet classifier"
          : "Features only: conv base without the classifier top"}
      </dd>
      <dt>Download size</dt>
      <dd>
        {formatBytes(facts.weightBytes)}{" "}
        <span className="muted">({formatCount(facts.weightBytes)} bytes)</span>
      </dd>
      <dt>Weight files</dt>
      <dd>
        {formatCount(facts.shards)} {facts.shards === 1 ? "shard" : "shards"}, {formatCount(facts.tensors)}{" "}
        tensors
      </dd>
      <dt>Model ID</dt>
      <dd>
        <code>{m.modelId}</code>
      </dd>
      <dt>model.json</dt>
      <dd>
        <code className="break">{url}</code>
      </dd>
    </dl>
  );
}

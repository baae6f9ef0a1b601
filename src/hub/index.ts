export { readHubEnv, hubCacheDir, isTrueEnv, DEFAULT_ENDPOINT, type HubEnv } from './env.js';
export { repoFolderName, repoCache, snapshotDir, isCommitHash } from './cache.js';
export { resolveHubFiles, isHubRepoId, type FileRequest, type HubSnapshot, type HubResolveOptions } from './resolve.js';
export { HubErrorCode, HubNetworkError } from './errors.js';
export { stderrSink, type ProgressSink } from './progress.js';
export { resolveDatasetInput, parseDatasetUri, isHubUri, type DatasetInput, type DatasetOptions } from './datasets.js';
export { pushToHub, pushExport, datasetCard, type PushOptions, type PushResult } from './push.js';

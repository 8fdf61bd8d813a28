/** JSON Schema (draft 2020-12 subset) of AnalysisReport, schemaVersion 1.x. Tests validate every report against it. */
const num = { type: 'number' } as const;
const nullableNum = { type: ['number', 'null'] } as const;
const numArray = { type: 'array', items: num } as const;
const nullableCurve = { type: ['array', 'null'], items: num } as const;
const perClass = { type: ['integer', 'array'], minimum: 0, items: { type: 'integer', minimum: 0 } } as const;
const methods = <T>(v: T) => ({ type: 'object', required: ['magnitude', 'node', 'singular'], properties: { magnitude: v, node: v, singular: v } });

export const REPORT_SCHEMA = {
  $id: 'https://prunescope.dev/schema/analysis-report-1.json',
  type: 'object',
  required: ['schemaVersion', 'model', 'prunescope', 'settings', 'startedAt', 'finishedAt', 'layers', 'skipped', 'summary', 'warnings'],
  properties: {
    schemaVersion: { type: 'string', pattern: '^1\\.' },
    model: {
      type: 'object',
      required: ['path', 'sha256', 'size', 'format', 'producer', 'params', 'weightParams'],
      properties: {
        path: { type: 'string' },
        sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        size: { type: 'integer', minimum: 0 },
        format: { enum: ['onnx', 'tfjs-layers', 'tfjs-graph', 'safetensors'] },
        producer: { type: 'string' },
        params: { type: 'integer', minimum: 0 },
        weightParams: { type: 'integer', minimum: 0 },
      },
    },
    prunescope: { type: 'object', required: ['version'], properties: { version: { type: 'string' } } },
    settings: {
      type: 'object',
      required: ['mode', 'seed', 'eps', 'nodeConvention', 'spectra', 'maxSpectrumDim', 'minSamples', 'layers', 'workers'],
      properties: {
        mode: { enum: ['robust', 'paper'] },
        seed: { type: 'integer' },
        eps: { type: 'number', exclusiveMinimum: 0 },
        nodeConvention: { enum: ['columns', 'rows'] },
        spectra: { type: 'boolean' },
        maxSpectrumDim: { type: 'integer' },
        minSamples: { type: 'integer' },
        layers: { type: ['string', 'null'] },
        workers: { type: 'integer', minimum: 0 },
      },
    },
    startedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
    layers: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'kind', 'shape', 'params', 'status', 'reasons', 'alphaStable', 'alphaHill', 'histogram', 'esd', 'prunableAtEps', 'curves', 'kStar', 'diagnostics'],
        properties: {
          name: { type: 'string' },
          kind: { enum: ['dense', 'conv', 'depthwise-conv', 'grouped-conv', 'embedding', 'recurrent'] },
          shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
          params: { type: 'integer', minimum: 1 },
          status: { enum: ['ok', 'partial', 'invalid'] },
          reasons: { type: 'array', items: { type: 'string' } },
          alphaStable: {
            type: 'object',
            required: ['multivariate', 'entries', 'norms'],
            properties: { multivariate: nullableNum, entries: nullableNum, norms: nullableNum },
          },
          alphaHill: nullableNum,
          activationSpectrum: {
            type: ['object', 'null'],
            required: ['tensor', 'units', 'samples', 'lambdaRel', 'lambdas', 'degreesOfFreedom', 'eigenvalues', 'leverage'],
            properties: { units: { type: 'integer', minimum: 1 }, samples: { type: 'integer', minimum: 0 }, lambdaRel: numArray, lambdas: numArray, degreesOfFreedom: numArray, eigenvalues: numArray, leverage: numArray },
          },
          histogram: {
            type: ['object', 'null'],
            required: ['min', 'max', 'counts'],
            properties: { min: num, max: num, counts: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } } },
          },
          esd: {
            type: ['object', 'null'],
            required: ['alpha', 'xmin', 'D', 'sigma', 'numTail', 'numEvals', 'lambdaMax', 'stableRank', 'alphaWeighted', 'logNorm', 'logSpectralNorm', 'eigenvalues'],
            properties: { alpha: num, xmin: num, D: num, numEvals: { type: 'integer' }, eigenvalues: numArray },
          },
          singularValues: { type: ['array', 'null'], items: num },
          prunableAtEps: methods(nullableNum),
          kStar: methods({ type: ['object', 'null'], required: ['k', 'n'], properties: { k: { type: 'integer' }, n: { type: 'integer' } } }),
          curves: {
            type: 'object',
            required: ['ratios', 'magnitude', 'node', 'singular', 'gaussian'],
            properties: { ratios: numArray, magnitude: nullableCurve, node: nullableCurve, singular: nullableCurve, gaussian: numArray },
          },
          diagnostics: { type: 'object', required: ['mode', 'seed'] },
        },
      },
    },
    skipped: { type: 'object', required: ['count', 'params'] },
    calibration: { type: 'object', required: ['data', 'inputs'], properties: { data: { type: 'string' }, inputs: { type: 'integer', minimum: 0 } } },
    summary: {
      type: 'object',
      required: ['alphaStableMedian', 'alphaStableWeighted', 'alphaEsdMedian', 'prunableAtEps'],
      properties: {
        alphaStableMedian: nullableNum,
        alphaStableWeighted: nullableNum,
        alphaEsdMedian: nullableNum,
        prunableAtEps: methods(nullableNum),
      },
    },
    warnings: { type: 'array', items: { type: 'string' } },
    structure: {
      type: 'object',
      required: ['ms', 'inputsChosen', 'tensors', 'groups', 'refusals', 'graphBytesSaved'],
      properties: {
        ms: { type: 'integer', minimum: 0 },
        inputsChosen: { type: 'array', items: { type: 'string' } },
        graphBytesSaved: { type: 'integer' },
        tensors: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'dims', 'bytes', 'counted', 'write', 'uses'],
            properties: { name: { type: 'string' }, dims: { type: 'array', items: { type: 'integer', minimum: 0 } }, bytes: { type: 'integer', minimum: 1 }, counted: { type: 'boolean' }, write: { enum: ['slice', 'copy'] }, uses: { type: 'integer', minimum: 0 }, wrapper: { type: 'integer', minimum: 0 }, computed: { type: 'boolean' } },
          },
        },
        groups: {
          type: 'array',
          items: {
            type: 'object',
            required: ['id', 'layers', 'classes', 'approximate'],
            properties: {
              id: { type: 'integer', minimum: 0 },
              layers: { type: 'array', items: { type: 'object', required: ['name', 'units', 'perClass'], properties: { name: { type: 'string' }, units: { type: 'integer', minimum: 0 }, perClass: perClass } } },
              classes: { type: 'integer', minimum: 0 },
              approximate: { type: 'array', items: { type: 'string' } },
              refused: { type: 'string' },
              scores: { type: 'object', required: ['raw', 'normalized', 'energy', 'totalEnergy'], properties: { raw: numArray, normalized: numArray, energy: numArray, totalEnergy: num } },
              paramsPerClass: numArray,
              cuts: { type: 'array', items: { type: 'object', required: ['tensor', 'axis', 'perClass'], properties: { tensor: { type: 'integer', minimum: 0 }, axis: { type: 'integer', minimum: 0 }, use: { type: 'string' }, reads: { type: 'string' }, perClass: perClass } } },
              spectralRefused: { type: 'string' },
            },
          },
        },
        refusals: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
  },
} as const;

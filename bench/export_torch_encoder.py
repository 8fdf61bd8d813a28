#!/usr/bin/python3
"""A torch-exported transformer encoder for the dependency-analysis bench: token embedding
(Gather), 12 × nn.TransformerEncoderLayer (batch_first=False, erf GELU: torch 1.13 writes the
attention with Shape → Gather → Concat Reshape targets), LayerNorm, a pooler. BERT-base's shape
with --width 768 --heads 12 --ffn 3072 --vocab 30522 (≈110M parameters).

  /usr/bin/python3 bench/export_torch_encoder.py <out.onnx> [--layers 12] [--width 768] [--heads 12] [--ffn 3072] [--vocab 30522]"""
import argparse
import io
import warnings

import torch
from torch import nn

warnings.filterwarnings('ignore')
p = argparse.ArgumentParser()
p.add_argument('out')
p.add_argument('--layers', type=int, default=12)
p.add_argument('--width', type=int, default=768)
p.add_argument('--heads', type=int, default=12)
p.add_argument('--ffn', type=int, default=3072)
p.add_argument('--vocab', type=int, default=30522)
a = p.parse_args()
torch.manual_seed(0)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(a.vocab, a.width)
        layer = nn.TransformerEncoderLayer(d_model=a.width, nhead=a.heads, dim_feedforward=a.ffn, dropout=0.0, activation='gelu', batch_first=False)
        self.encoder = nn.TransformerEncoder(layer, num_layers=a.layers, enable_nested_tensor=False)
        self.pool = nn.Linear(a.width, a.width)
        # Distinct weights per layer (the exporter would merge the deep-copied identical ones).
        with torch.no_grad():
            for name, w in self.encoder.named_parameters():
                if 'norm' not in name:
                    w.normal_(0, 0.02)

    def forward(self, ids):  # ids: [T, N]
        return torch.tanh(self.pool(self.encoder(self.embed(ids))[0]))


f = io.BytesIO()
torch.onnx.export(Encoder().eval(), torch.zeros(16, 1, dtype=torch.long), f, opset_version=17, input_names=['ids'], output_names=['pooled'],
                  dynamic_axes={'ids': {0: 'tokens', 1: 'batch'}, 'pooled': {0: 'batch'}})
with open(a.out, 'wb') as out:
    out.write(f.getvalue())
print(f'{a.out}: {len(f.getvalue())} bytes')

using Microsoft.ML.Tokenizers;
using Service.Models.Errors;

namespace Service.Models.Text;

/// <summary>Token ids of one input, with the length it had before any truncation.</summary>
public sealed record TokenizedText(int[] Ids, int OriginalTokenCount)
{
    public bool Truncated => Ids.Length < OriginalTokenCount;
}

/// <summary>
/// WordPiece tokenization for BERT-family encoders: <c>[CLS] tokens [SEP]</c>, lower-cased with accents
/// stripped (as the uncased HuggingFace tokenizer does, so "café" is "cafe"), at most
/// <see cref="MaxTokens"/> ids including the special tokens.
/// </summary>
public sealed class TextTokenizer(BertTokenizer tokenizer, int maxTokens)
{
    public int MaxTokens { get; } = maxTokens;

    public static TextTokenizer FromVocabulary(string vocabPath, int maxTokens) =>
        new(BertTokenizer.Create(vocabPath, new BertOptions { LowerCaseBeforeTokenization = true, RemoveNonSpacingMarks = true }), maxTokens);

    /// <summary>Encodes one text; too long is an error unless <paramref name="truncate"/> allows cutting it.</summary>
    public TokenizedText Encode(string text, bool truncate, int inputIndex = 0)
    {
        var pieces = tokenizer.EncodeToIds(text, addSpecialTokens: false);
        var total = pieces.Count + 2;
        if (total > MaxTokens && !truncate)
        {
            throw new ServiceException(
                ServiceErrorKind.InputTooLong,
                $"Input {inputIndex} has {total} tokens; the model accepts at most {MaxTokens}. Shorten it or send \"truncate\": true.",
                new Dictionary<string, object?> { ["input_index"] = inputIndex, ["token_count"] = total, ["max_tokens"] = MaxTokens });
        }

        var kept = Math.Min(pieces.Count, MaxTokens - 2);
        var ids = new int[kept + 2];
        ids[0] = tokenizer.ClassificationTokenId;
        for (var i = 0; i < kept; i++)
            ids[i + 1] = pieces[i];
        ids[^1] = tokenizer.SeparatorTokenId;
        return new TokenizedText(ids, total);
    }
}

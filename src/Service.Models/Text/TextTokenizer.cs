using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
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
/// <remarks>
/// The steps of the reference tokenizer (HuggingFace BertNormalizer, BertPreTokenizer, WordPiece), checked against
/// transformers.js: the special tokens <c>[CLS]</c>, <c>[SEP]</c>, <c>[MASK]</c>, <c>[UNK]</c>, <c>[PAD]</c> are matched
/// as written (case-sensitive) before anything else; the rest is cleaned (<see cref="TextCleaning"/>), lower-cased,
/// decomposed (NFD) with its non-spacing marks removed — which also splits Hangul syllables into their jamo, as the
/// reference does — and split on whitespace and around every punctuation character (Unicode P* and the ASCII symbols
/// <c>$+&lt;=&gt;^`|~</c>), so a word of characters outside the vocabulary (an emoji) becomes <c>[UNK]</c> instead of
/// disappearing; CJK ideographs are words of their own. The library's BertTokenizer then applies WordPiece.
/// </remarks>
public sealed partial class TextTokenizer
{
    readonly BertTokenizer tokenizer;
    readonly Dictionary<string, int> specialIds;

    TextTokenizer(BertTokenizer tokenizer, int maxTokens)
    {
        this.tokenizer = tokenizer;
        MaxTokens = maxTokens;
        specialIds = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            [tokenizer.ClassificationToken] = tokenizer.ClassificationTokenId,
            [tokenizer.SeparatorToken] = tokenizer.SeparatorTokenId,
            [tokenizer.MaskingToken] = tokenizer.MaskingTokenId,
            [tokenizer.UnknownToken] = tokenizer.UnknownTokenId,
            [tokenizer.PaddingToken] = tokenizer.PaddingTokenId,
        };
    }

    public int MaxTokens { get; }

    public static TextTokenizer FromVocabulary(string vocabPath, int maxTokens)
    {
        // The library's own basic tokenization recomposes Hangul jamo (so "한국어" became one [UNK]); Normalize does its job.
        var options = new BertOptions { ApplyBasicTokenization = false, SplitOnSpecialTokens = false };
        options.PreTokenizer = new RegexPreTokenizer(BertPreTokenizer(), null);
        return new(BertTokenizer.Create(vocabPath, options), maxTokens);
    }

    /// <summary>One punctuation character, or a run of characters that are neither whitespace nor punctuation.</summary>
    [GeneratedRegex(@"[\p{P}!-/:-@\[-`{-~]|[^\s\p{P}!-/:-@\[-`{-~]+")]
    private static partial Regex BertPreTokenizer();

    [GeneratedRegex(@"\[(?:CLS|SEP|MASK|UNK|PAD)\]")]
    private static partial Regex SpecialToken();

    /// <summary>Encodes one text; too long is an error unless <paramref name="truncate"/> allows cutting it.</summary>
    public TokenizedText Encode(string text, bool truncate, int inputIndex = 0)
    {
        var pieces = new List<int>();
        var start = 0;
        foreach (Match special in SpecialToken().Matches(text))
        {
            AddWords(text[start..special.Index], pieces);
            pieces.Add(specialIds[special.Value]);
            start = special.Index + special.Length;
        }
        AddWords(text[start..], pieces);
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

    void AddWords(string segment, List<int> pieces)
    {
        if (segment.Length > 0)
            pieces.AddRange(tokenizer.EncodeToIds(Normalize(segment), addSpecialTokens: false));
    }

    /// <summary>
    /// BertNormalizer with clean_text, handle_chinese_chars, lowercase and strip_accents: cleaned, a space each side of
    /// every CJK ideograph, lower-cased, NFD with non-spacing marks (Mn) removed.
    /// </summary>
    static string Normalize(string text)
    {
        var spaced = new StringBuilder(text.Length);
        foreach (var rune in TextCleaning.Clean(text).EnumerateRunes())
        {
            if (IsCjkIdeograph(rune.Value))
                spaced.Append(' ').Append(rune.ToString()).Append(' ');
            else
                spaced.Append(rune.ToString());
        }
        // Decomposed before lower-casing too: .NET leaves U+0130 (İ) as it is, while its decomposition I + U+0307 lowers to i.
        var decomposed = spaced.ToString().Normalize(NormalizationForm.FormD).ToLowerInvariant().Normalize(NormalizationForm.FormD);
        var builder = new StringBuilder(decomposed.Length);
        foreach (var c in decomposed)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)
                builder.Append(c);
        }
        return builder.ToString();
    }

    /// <summary>The CJK Unified Ideographs blocks the reference tokenizer spaces out (not Hangul, kana or jamo).</summary>
    static bool IsCjkIdeograph(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}

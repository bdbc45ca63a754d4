using Service.Api.Hosting;
using Service.Models.Errors;
using Service.Models.Text;

namespace Service.Api.Features.Shared;

/// <summary>Checks shared by every text route; failures are 422 with the field and what to change.</summary>
public static class InputValidation
{
    public static string[] Texts(IReadOnlyList<string?>? texts, string field, LimitsOptions limits)
    {
        Count(texts?.Count ?? 0, field, limits, "non-empty string");
        for (var i = 0; i < texts!.Count; i++)
            Text(texts[i], $"{field}[{i}]", limits);
        return texts.ToArray()!;
    }

    /// <summary>Refuses an empty list or one over Limits:MaxInputsPerRequest; <paramref name="what"/> names one element.</summary>
    public static void Count(int count, string field, LimitsOptions limits, string what)
    {
        if (count == 0)
            throw Invalid($"'{field}' is empty. Send at least one {what}.", field);
        if (count > limits.MaxInputsPerRequest)
        {
            throw Invalid($"'{field}' has {count} items; at most {limits.MaxInputsPerRequest} are allowed per request. Split the request.",
                field, ("max_inputs", limits.MaxInputsPerRequest));
        }
    }

    public static string Text(string? text, string field, LimitsOptions limits)
    {
        if (string.IsNullOrEmpty(text))
            throw Invalid($"'{field}' is empty or null. Send a non-empty string.", field);
        // The tokenizer removes control, format, unassigned and surrogate code points and strips combining marks as the
        // reference BERT tokenizer does (TextCleaning); a text made only of those has nothing to embed, like an empty one (TEI: 422).
        if (TextCleaning.IsBlank(text))
        {
            var removed = TextCleaning.FirstRemoved(text);
            throw Invalid($"'{field}' has no visible characters: it holds only whitespace and code points the tokenizer removes (control, format, unassigned, unpaired surrogates or combining marks{(removed is { } r ? $", e.g. U+{r:X4}" : "")}). Send some text.",
                field, ("code_point", removed is { } cp ? $"U+{cp:X4}" : null));
        }
        if (text.Length > limits.MaxInputCharacters)
        {
            throw Invalid($"'{field}' has {text.Length} characters; the limit is {limits.MaxInputCharacters}. Shorten it.",
                field, ("max_characters", limits.MaxInputCharacters));
        }
        return text;
    }

    public static ServiceException Invalid(string detail, string field, params (string Key, object? Value)[] facts)
    {
        var extensions = new Dictionary<string, object?> { ["field"] = field };
        foreach (var (key, value) in facts)
            extensions[key] = value;
        return new ServiceException(ServiceErrorKind.ValidationFailed, detail, extensions);
    }

    /// <summary>Refuses <paramref name="value"/> unless it is one of <paramref name="allowed"/>; <paramref name="why"/> is appended to the detail.</summary>
    public static void OneOf(string? value, string[] allowed, string field, string why = "")
    {
        if (value is null || !allowed.Contains(value))
            throw Invalid($"'{field}' must be one of {string.Join(", ", allowed)}; got '{value}'.{why}", field, ("allowed", allowed));
    }
}

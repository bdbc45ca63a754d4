using System.Text.Json;
using Service.Index;

namespace Service.Api.Features.Indexes;

/// <summary>
/// A build as accepted. It is kept as JSON beside the index file (<c>{name}.build.json</c>) until the build ends, so a build
/// stopped by a shutdown is queued again at the next start and resumes from its shard checkpoint.
/// </summary>
public sealed record IndexBuildJob(string Id, string Name, string Model, IndexItem[] Items, string[] AnchorQueries, ScoreType StoredAs);

/// <summary>The job files of accepted builds, <c>{name}.build.json</c> beside the index files, until each build ends.</summary>
public sealed class IndexBuildJobStore(string directory)
{
    const string Suffix = ".build.json";
    static readonly JsonSerializerOptions Json = new() { RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true };

    public void Save(IndexBuildJob job)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(PathOf(job.Name), JsonSerializer.SerializeToUtf8Bytes(job, Json));
    }

    public void Delete(string name) => File.Delete(PathOf(name));

    public string PathOf(string name) => Path.Combine(directory, name + Suffix);

    /// <summary>Every job file of the directory in name order, read or with why it could not be; none when the directory cannot be listed.</summary>
    public IEnumerable<(string File, IndexBuildJob? Job, string? Error)> ReadAll()
    {
        string[] files;
        try
        {
            files = Directory.Exists(directory) ? Directory.GetFiles(directory, "*" + Suffix) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            yield break; // reported where the index files are listed: the directory cannot be read
        }
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            IndexBuildJob? job = null;
            string? error = null;
            try
            {
                job = JsonSerializer.Deserialize<IndexBuildJob>(File.ReadAllBytes(file), Json)!;
            }
            catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
            {
                error = e.Message;
            }
            yield return (file, job, error);
        }
    }
}

// This file compiles with the default implicit usings of `dotnet new` (System, System.IO,
// System.Collections.Generic, System.Linq, System.Net.Http, System.Threading,
// System.Threading.Tasks) plus the namespaces users often add. A public Evergreen type whose
// name collided with one of theirs would make a reference below ambiguous (CS0104).
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Threading.Channels;
using Evergreen;
using Evergreen.IO;
using Evergreen.IO.Http;
using Evergreen.Native;
using Evergreen.Sync;

namespace Evergreen.Tests;

public class NamesTests
{
    private static readonly string[] UserNamespaces =
    [
        "System", "System.IO", "System.Collections.Generic", "System.Linq", "System.Net.Http",
        "System.Threading", "System.Threading.Tasks", "System.Net", "System.Net.Sockets", "System.Threading.Channels",
    ];

    [Fact]
    public void EveryPublicTypeName_CompilesUnqualified_NextToTheDefaultUsings()
    {
        Type[] used =
        [
            typeof(EventLoop), typeof(Tasklet), typeof(Tasklet<int>), typeof(TaskletState), typeof(TaskletExit),
            typeof(TaskletKilledException), typeof(TaskletLocal<int>), typeof(TaskletAwaiter), typeof(TaskletAwaiter<int>),
            typeof(CancelScope), typeof(WaitQueue), typeof(IParkOwner), typeof(LoopCallback), typeof(LoopExceptionEventArgs),
            typeof(DeadlockException), typeof(UvException), typeof(HandleInfo), typeof(Offload),
            typeof(Future), typeof(Future<int>), typeof(FutureCanceledException), typeof(Executor), typeof(TaskletPoolExecutor),
            typeof(ThreadPoolExecutor), typeof(Futures), typeof(ReturnWhen), typeof(TaskGroup),
            typeof(ParkedOperation<int>), typeof(WaitNode), typeof(WaitList<Tasklet>), typeof(Timeouts),
            typeof(UvHandle), typeof(UvHandleType), typeof(UvBuf), typeof(UvError), typeof(UvLibrary),
        ];
        var exported = typeof(EventLoop).Assembly.GetExportedTypes().Where(t => !t.IsNested).ToHashSet();
        Assert.Equal(exported.OrderBy(t => t.Name), used.Select(t => t.IsGenericType ? t.GetGenericTypeDefinition() : t).OrderBy(t => t.Name));
    }

    [Fact]
    public void TheNativeSurfaceForPrimitiveAuthors_LivesInEvergreenNative_AndIOBuildsOnItWithoutInternals()
    {
        Type[] native = [typeof(UvHandle), typeof(UvHandleType), typeof(UvBuf), typeof(UvError), typeof(UvLibrary)];
        Assert.All(native, t => Assert.Equal("Evergreen.Native", t.Namespace));
        // IO's own bindings (LibUvNet, its handles and requests) stay internal to IO.
        Assert.DoesNotContain(typeof(UdpEndpoint).Assembly.GetExportedTypes(), t => t.Namespace == "Evergreen.Native");
        // IO is built like a third party's library: no Evergreen assembly opens its internals to it.
        foreach (var assembly in new[] { typeof(EventLoop).Assembly, typeof(AsyncLock).Assembly })
        {
            var friends = assembly.GetCustomAttributes<System.Runtime.CompilerServices.InternalsVisibleToAttribute>().Select(a => a.AssemblyName);
            Assert.DoesNotContain("Evergreen.IO", friends);
        }
    }

    /// <summary>Every Evergreen library; a new one is added here.</summary>
    private static readonly Assembly[] EvergreenAssemblies =
    [
        typeof(EventLoop).Assembly,
        typeof(AsyncLock).Assembly,
        typeof(UdpEndpoint).Assembly,
    ];

    [Fact]
    public void EverySyncTypeName_CompilesUnqualified_NextToTheDefaultUsingsAndSystemThreadingChannels()
    {
        Type[] used =
        [
            typeof(AsyncLock), typeof(AsyncRLock), typeof(AsyncSemaphore), typeof(AsyncBoundedSemaphore),
            typeof(AsyncReleaser), typeof(ILockForCondition), typeof(AsyncCondition), typeof(AsyncEvent),
            typeof(AsyncBarrier), typeof(BrokenBarrierException), typeof(AsyncQueueBase<int>), typeof(AsyncQueue<int>),
            typeof(AsyncLifoQueue<int>), typeof(AsyncPriorityQueue<int>), typeof(QueueFullException), typeof(QueueEmptyException),
            typeof(AsyncChannel<int>), typeof(AsyncChannelClosedException), typeof(AsyncSelect),
        ];
        var exported = typeof(AsyncLock).Assembly.GetExportedTypes().Where(t => !t.IsNested).ToHashSet();
        Assert.Equal(exported.OrderBy(t => t.Name), used.Select(t => t.IsGenericType ? t.GetGenericTypeDefinition() : t).OrderBy(t => t.Name));
        // Used side by side with the System.Threading.Channels types they could be mistaken for.
        Assert.NotEqual(typeof(Channel<int>), typeof(AsyncChannel<int>));
        Assert.NotEqual(typeof(ChannelClosedException), typeof(AsyncChannelClosedException));
    }

    [Fact]
    public void EveryIOTypeName_CompilesUnqualified_NextToTheDefaultUsingsAndSystemNet()
    {
        Type[] used =
        [
            typeof(Resolver), typeof(UdpEndpoint), typeof(UdpDatagram),
            typeof(IOStream), typeof(TcpStream), typeof(TcpConnection), typeof(TcpServer), typeof(TlsStream),
            typeof(HttpFields), typeof(HttpViolation), typeof(MalformedHttpException),
            typeof(HttpSession), typeof(HttpSessionOptions), typeof(HttpSessionResponse), typeof(HttpBodyTooLargeException),
            typeof(HttpRedirectException), typeof(HttpTimeoutException), typeof(HttpTimeoutPhase),
            typeof(HttpServer), typeof(HttpServerOptions), typeof(HttpServerRequest), typeof(HttpServerReply), typeof(HttpHandler),
        ];
        var exported = typeof(UdpEndpoint).Assembly.GetExportedTypes().Where(t => !t.IsNested).ToHashSet();
        Assert.Equal(exported.OrderBy(t => t.Name), used.Select(t => t.IsGenericType ? t.GetGenericTypeDefinition() : t).OrderBy(t => t.Name));
        // Used side by side with the System.Net types they could be mistaken for.
        Assert.NotEqual(typeof(Dns), typeof(Resolver));
        Assert.NotEqual(typeof(UdpClient), typeof(UdpEndpoint));
        Assert.NotEqual(typeof(UdpReceiveResult), typeof(UdpDatagram));
        Assert.NotEqual(typeof(TcpClient), typeof(TcpStream));
        Assert.NotEqual(typeof(TcpListener), typeof(TcpServer));
        Assert.NotEqual(typeof(NetworkStream), typeof(TcpStream));
        Assert.NotEqual(typeof(System.Net.Security.SslStream), typeof(TlsStream));
        // And with System.Net.Http's client.
        Assert.NotEqual(typeof(HttpClient), typeof(HttpSession));
        Assert.NotEqual(typeof(HttpResponseMessage), typeof(HttpSessionResponse));
    }

    [Fact]
    public void NoPublicType_CollidesWithATypeInTheNamespacesUsersImport()
    {
        var runtimeDir = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory();
        var theirs = new Dictionary<string, string>();
        var assemblies = new List<Assembly> { typeof(object).Assembly };
        foreach (var path in Directory.GetFiles(runtimeDir, "System*.dll"))
        {
            try { assemblies.Add(Assembly.LoadFrom(path)); }
            catch (Exception e) when (e is BadImageFormatException or FileNotFoundException or FileLoadException) { } // native shims, CoreLib
        }
        foreach (var assembly in assemblies)
        {
            Type[] types;
            try { types = assembly.GetExportedTypes(); }
            catch (Exception) { continue; }
            foreach (var t in types)
            {
                if (!t.IsNested && t.Namespace is { } ns && UserNamespaces.Contains(ns)) theirs.TryAdd(t.Name, t.FullName!);
            }
        }
        Assert.Contains("Lock", theirs.Keys);         // the check sees System.Threading.Lock,
        Assert.Contains("Channel`1", theirs.Keys);    // System.Threading.Channels.Channel<T>,
        Assert.Contains("Dns", theirs.Keys);          // and System.Net.Dns
        var collisions = EvergreenAssemblies.SelectMany(a => a.GetExportedTypes())
            .Where(t => !t.IsNested && theirs.ContainsKey(t.Name))
            .Select(t => $"{t.FullName} collides with {theirs[t.Name]}")
            .ToList();
        Assert.Empty(collisions);
    }

    /// <summary>
    /// The exceptions to the Async-suffix rule: <c>Tasklet.Sleep</c> and <c>Tasklet.Yield</c>
    /// mirror <c>Thread.Sleep</c> and <c>Task.Yield</c>, and <c>GetAwaiter</c> is the await pattern.
    /// </summary>
    private static readonly string[] NotAsyncByDesign = ["Tasklet.Sleep", "Tasklet.Yield"];

    /// <summary>Whether <paramref name="t"/> is something one awaits (a Task, a ValueTask, or a type with GetAwaiter).</summary>
    private static bool IsAwaitable(Type t) =>
        t == typeof(Task) || t == typeof(ValueTask)
        || (t.IsGenericType && (t.GetGenericTypeDefinition() == typeof(Task<>) || t.GetGenericTypeDefinition() == typeof(ValueTask<>)))
        || t.GetMethod("GetAwaiter", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes) is not null;

    /// <summary>
    /// Handles: a tasklet or a future is an object with a life of its own that also happens to be
    /// awaitable. A method that starts one (<c>Spawn</c>, <c>Submit</c>, like <c>Task.Run</c>) or
    /// finds one (<c>RequireCurrent</c>) is named for what it does, not for the await.
    /// </summary>
    private static bool IsHandle(Type t) => typeof(Tasklet).IsAssignableFrom(t) || typeof(Future).IsAssignableFrom(t);

    /// <summary>Every public, non-accessor method the Evergreen libraries declare themselves (not delegates' Invoke, not overrides of System.IO.Stream or object).</summary>
    private static IEnumerable<MethodInfo> PublicMethods() =>
        EvergreenAssemblies.SelectMany(a => a.GetExportedTypes())
            .Where(t => !typeof(Delegate).IsAssignableFrom(t)) // a delegate's Invoke is named by the runtime
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => !m.IsSpecialName && EvergreenAssemblies.Contains(m.GetBaseDefinition().DeclaringType!.Assembly));

    private static string NameOf(MethodInfo m) => $"{m.DeclaringType!.Name.Split('`')[0]}.{m.Name}";

    [Fact]
    public void EveryPublicMethodReturningAnAwaitable_EndsInAsync_SaveTheStatedExceptions()
    {
        var violations = PublicMethods()
            .Where(m => IsAwaitable(m.ReturnType) && !IsHandle(m.ReturnType))
            .Where(m => !m.Name.EndsWith("Async", StringComparison.Ordinal) && m.Name != "GetAwaiter" && !NotAsyncByDesign.Contains(NameOf(m)))
            .Select(NameOf).Distinct().Order().ToList();
        Assert.Empty(violations);
    }

    [Fact]
    public void EveryPublicName_SpellsCanceledTheDotNetWay()
    {
        var names = EvergreenAssemblies.SelectMany(a => a.GetExportedTypes())
            .SelectMany(t => t.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Select(m => $"{t.Name}.{m.Name}").Append(t.Name))
            .Where(n => n.Contains("Cancelled", StringComparison.Ordinal))
            .Distinct().Order().ToList();
        Assert.Empty(names);
    }

    /// <summary>
    /// The public methods returning <see cref="Task"/>: long-lived calls one may await more than
    /// once or hold on to (serving, a whole group, a move-on-after block). Everything hot and
    /// awaited once returns a <see cref="ValueTask"/>; a new Task-returning method is added here
    /// on purpose.
    /// </summary>
    private static readonly string[] ReturnsTaskByDesign =
    [
        "CancelScope.MoveOnAfterAsync", "TaskGroup.RunAsync", "TcpServer.ServeAsync", "HttpServer.ServeAsync",
    ];

    [Fact]
    public void OnlyLongLivedPublicMethods_ReturnATask_HotOnesReturnAValueTask()
    {
        var tasks = PublicMethods()
            .Where(m => m.ReturnType == typeof(Task) || (m.ReturnType.IsGenericType && m.ReturnType.GetGenericTypeDefinition() == typeof(Task<>)))
            .Select(NameOf).Distinct().Order().ToList();
        Assert.Equal(ReturnsTaskByDesign.Order(), tasks);
    }
}
